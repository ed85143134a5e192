// GitHub via @octokit/webhooks-methods: verify(secret, payload, signature) in a plain
// node:http handler, the payload being the raw body as a string.
//   node github-webhooks-methods.mjs --secret S [--port 0] [--sink ADDR] [--path /webhooks] [--flaw no-dedupe]
import { createServer } from "node:http";
import { verify } from "@octokit/webhooks-methods";
import { options, Processor, readBody, listen } from "./common.mjs";

const o = options("/webhooks");
const processor = new Processor(o);

listen(
  createServer(async (req, res) => {
    if (req.method !== "POST" || new URL(req.url, "http://localhost").pathname !== o.path) {
      res.writeHead(404).end();
      return;
    }
    const payload = (await readBody(req)).toString("utf8");
    const signature = req.headers["x-hub-signature-256"];
    let ok = false;
    try {
      // verify throws a TypeError when an argument (the signature header) is missing
      ok = await verify(o.secret, payload, signature);
    } catch {
      ok = false;
    }
    if (!ok) {
      res.writeHead(401, { "content-type": "text/plain" }).end("Unauthorized");
      return;
    }
    let event;
    try {
      event = JSON.parse(payload);
    } catch {
      res.writeHead(400, { "content-type": "text/plain" }).end("invalid JSON");
      return;
    }
    try {
      // repository_dispatch: the application's JSON is client_payload.
      await processor.process(req.headers["x-github-delivery"], { type: event.action, data: event.client_payload });
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" }).end("processing failed");
      return;
    }
    res.writeHead(202, { "content-type": "text/plain" }).end("Accepted");
  }),
  o.port,
);
