// Stripe via the stripe package, as Stripe's "Receive events" docs show:
// stripe.webhooks.constructEvent(rawBody, request.headers['stripe-signature'], endpointSecret),
// 400 "Webhook Error: ..." when it throws. Stripe identifies an event by the body's id.
//   node stripe.mjs --secret whsec_... [--port 0] [--sink ADDR] [--path /webhook] [--flaw no-dedupe]
import { createServer } from "node:http";
import Stripe from "stripe";
import { options, Processor, readBody, listen } from "./common.mjs";

const o = options("/webhook");
const processor = new Processor(o);
// constructEvent needs no API call; the key is a placeholder.
const stripe = new Stripe("sk_test_hookproof_differential");
const endpointSecret = o.secret;

listen(
  createServer(async (request, response) => {
    if (request.method !== "POST" || new URL(request.url, "http://localhost").pathname !== o.path) {
      response.writeHead(404).end();
      return;
    }
    const body = await readBody(request);
    const sig = request.headers["stripe-signature"];
    let event;
    try {
      event = stripe.webhooks.constructEvent(body, sig, endpointSecret);
    } catch (err) {
      response.writeHead(400, { "content-type": "text/plain" }).end(`Webhook Error: ${err.message}`);
      return;
    }
    try {
      // As Stripe's docs do: the business object is event.data.object.
      await processor.process(event.id, { type: event.type, data: event.data.object });
    } catch {
      response.writeHead(500).end();
      return;
    }
    response.writeHead(200).end();
  }),
  o.port,
);
