// Standard Webhooks via the svix package, as Svix's docs show: new Webhook(secret) and
// wh.verify(payload, headers) on the raw body, 400 when it throws. svix reads svix-* headers
// and falls back to the unbranded webhook-* ones that hookproof sends.
//   node svix.mjs --secret whsec_... [--port 0] [--sink ADDR] [--path /webhooks] [--flaw no-dedupe]
import { createServer } from "node:http";
import { Webhook } from "svix";
import { options, Processor, readBody, listen } from "./common.mjs";

const o = options("/webhooks");
const processor = new Processor(o);
const wh = new Webhook(o.secret);

listen(
  createServer(async (req, res) => {
    if (req.method !== "POST" || new URL(req.url, "http://localhost").pathname !== o.path) {
      res.writeHead(404).end();
      return;
    }
    const payload = await readBody(req);
    const headers = req.headers;
    let msg;
    try {
      msg = wh.verify(payload, headers);
    } catch (err) {
      res.writeHead(400, { "content-type": "application/json" }).end("{}");
      return;
    }
    try {
      await processor.process(headers["svix-id"] ?? headers["webhook-id"], msg);
    } catch {
      res.writeHead(500).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  }),
  o.port,
);
