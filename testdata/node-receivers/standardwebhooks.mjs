// Standard Webhooks via the standardwebhooks package, as its README shows:
// new Webhook(base64_secret) and wh.verify(webhook_payload, webhook_headers), 400 when it throws.
//   node standardwebhooks.mjs --secret whsec_... [--port 0] [--sink ADDR] [--path /webhooks] [--flaw no-dedupe]
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";
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
    let event;
    try {
      event = wh.verify(payload, req.headers);
    } catch (err) {
      res.writeHead(400, { "content-type": "text/plain" }).end("invalid webhook");
      return;
    }
    try {
      await processor.process(req.headers["webhook-id"], event);
    } catch {
      res.writeHead(500).end();
      return;
    }
    res.writeHead(204).end();
  }),
  o.port,
);
