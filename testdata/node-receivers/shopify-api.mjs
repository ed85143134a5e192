// Shopify via @shopify/shopify-api: shopifyApi({...}) with the node adapter, then
// shopify.webhooks.validate({ rawBody, rawRequest, rawResponse }) on the raw body as a string,
// answering 400 when it is not valid, as the library's webhook validation docs show.
//   node shopify-api.mjs --secret S [--port 0] [--sink ADDR] [--path /webhooks] [--flaw no-dedupe]
import "@shopify/shopify-api/adapters/node";
import { createServer } from "node:http";
import { shopifyApi, ApiVersion, LogSeverity } from "@shopify/shopify-api";
import { options, Processor, readBody, listen } from "./common.mjs";

const o = options("/webhooks");
const processor = new Processor(o);

// The validation needs only apiSecretKey, but shopifyApi insists on these mandatory values.
const shopify = shopifyApi({
  apiKey: "hookproof-differential",
  apiSecretKey: o.secret,
  hostName: "127.0.0.1",
  apiVersion: ApiVersion.July25,
  isEmbeddedApp: false,
  logger: { level: LogSeverity.Error },
});

listen(
  createServer(async (req, res) => {
    if (req.method !== "POST" || new URL(req.url, "http://localhost").pathname !== o.path) {
      res.writeHead(404).end();
      return;
    }
    const rawBody = (await readBody(req)).toString("utf8");
    const result = await shopify.webhooks.validate({ rawBody, rawRequest: req, rawResponse: res });
    if (!result.valid) {
      // result.reason: missing_body, missing_hmac, invalid_hmac or missing_headers
      res.writeHead(400, { "content-type": "application/json" })
        .end(JSON.stringify({ reason: result.reason, missingHeaders: result.missingHeaders }));
      return;
    }
    let event;
    try {
      event = JSON.parse(rawBody);
    } catch {
      res.writeHead(400).end();
      return;
    }
    try {
      // orders/updated: the body is the order itself, as a Shopify app reads it.
      await processor.process(result.webhookId, { type: result.topic, data: event });
    } catch {
      res.writeHead(500).end();
      return;
    }
    res.writeHead(200).end();
  }),
  o.port,
);
