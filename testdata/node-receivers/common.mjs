// Shared bookkeeping of the differential receivers: options, in-memory dedupe by delivery id,
// per-object ordering, and the effect report to hookproof's sink (reference/sink/doc.go).
// Verification is NOT here: each receiver verifies exactly as its library's docs show.
import { randomUUID } from "node:crypto";

// options reads --secret/--port/--sink/--path/--flaw from argv, else SECRET, PORT, SINK_URL,
// HOOK_PATH, FLAW from the environment. --sink takes a URL (http://127.0.0.1:9300/effects) or
// an address (127.0.0.1:9300), which means http://ADDR/effects.
export function options(defaultPath) {
  const o = {
    secret: process.env.SECRET ?? "",
    port: Number(process.env.PORT ?? 0),
    sink: process.env.SINK_URL ?? "",
    path: process.env.HOOK_PATH ?? defaultPath,
    flaw: process.env.FLAW ?? "",
  };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    let [k, v] = argv[i].split(/=(.*)/s, 2);
    if (v === undefined) v = argv[++i];
    switch (k) {
      case "--secret": o.secret = v; break;
      case "--port": o.port = Number(v); break;
      case "--sink": o.sink = v; break;
      case "--path": o.path = v; break;
      case "--flaw": o.flaw = v; break;
      default:
        console.error(`unknown argument ${k}`);
        process.exit(2);
    }
  }
  if (!o.secret) {
    console.error("a secret is required (--secret or $SECRET)");
    process.exit(2);
  }
  if (o.sink && !/^https?:\/\//.test(o.sink)) o.sink = `http://${o.sink}/effects`;
  if (!["", "none", "no-dedupe"].includes(o.flaw)) {
    console.error(`unknown flaw ${o.flaw} (known: no-dedupe)`);
    process.exit(2);
  }
  return o;
}

// Processor applies each event once per delivery id (unless the no-dedupe flaw is on) and
// reports it to the sink before the caller acknowledges.
export class Processor {
  constructor(o) {
    this.sink = o.sink;
    this.dedupe = o.flaw !== "no-dedupe";
    this.done = new Map(); // delivery id -> promise of its one processing
    this.lastSeq = new Map(); // data.object_id -> highest applied data.seq
  }

  // process resolves once the event with delivery id `id` has been processed (now or by an
  // earlier delivery of the same id, which concurrent duplicates wait for); it rejects when the
  // effect could not be reported, and a retry then processes it again.
  async process(id, event) {
    if (this.dedupe && id) {
      const earlier = this.done.get(id);
      if (earlier) return earlier;
    }
    const p = this.apply(id, event);
    if (this.dedupe && id) {
      this.done.set(id, p);
      p.catch(() => this.done.delete(id));
    }
    return p;
  }

  async apply(id, event) {
    const data = event && typeof event === "object" ? event.data : undefined;
    let applied = true;
    let undo = () => {};
    const obj = data && typeof data === "object" ? data.object_id : undefined;
    const seq = data && typeof data === "object" ? data.seq : undefined;
    if (typeof obj === "string" && Number.isFinite(seq)) {
      const last = this.lastSeq.get(obj);
      if (last !== undefined && seq <= last) {
        applied = false; // stale: an event of this object with a higher seq was applied
      } else {
        this.lastSeq.set(obj, seq);
        undo = () => {
          if (this.lastSeq.get(obj) === seq) {
            if (last === undefined) this.lastSeq.delete(obj);
            else this.lastSeq.set(obj, last);
          }
        };
      }
    }
    if (!this.sink) return applied;
    if (!id) {
      // The sink contract needs a webhook_id: an event that arrived without a delivery id (its
      // library accepted it) is processed, but neither deduplicated nor reported.
      console.error("processed an event without a delivery id: not deduplicated, effect not reported");
      return applied;
    }
    try {
      const res = await fetch(this.sink, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          webhook_id: id,
          effect_id: randomUUID(),
          type: event?.type ?? "",
          data: data ?? null,
          applied,
        }),
      });
      if (!res.ok) throw new Error(`effect sink answered ${res.status}`);
      return applied;
    } catch (err) {
      undo();
      throw err;
    }
  }
}

// readBody collects the raw request body.
export function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

// listen starts server on 127.0.0.1:port and prints "listening 127.0.0.1:PORT".
export function listen(server, port) {
  server.listen(port, "127.0.0.1", () => {
    const a = server.address();
    console.log(`listening ${a.address}:${a.port}`);
  });
  for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
}
