// GitHub via @octokit/webhooks, as its README shows: new Webhooks({ secret }), onAny, and
// createNodeMiddleware(webhooks, { path }) on node:http's createServer.
//   node github-webhooks.mjs --secret S [--port 0] [--sink 127.0.0.1:9300] [--path /api/github/webhooks] [--flaw no-dedupe]
import { createServer } from "node:http";
import { Webhooks, createNodeMiddleware } from "@octokit/webhooks";
import { options, Processor, listen } from "./common.mjs";

const o = options("/api/github/webhooks");
const processor = new Processor(o);

const webhooks = new Webhooks({ secret: o.secret });

// id is X-GitHub-Delivery, name is X-GitHub-Event. A handler that throws makes the middleware
// answer 500, so an effect that could not be reported is retried.
// A repository_dispatch event carries the application's own JSON in client_payload.
webhooks.on("repository_dispatch", async ({ id, payload }) => {
  await processor.process(id, { type: payload.action, data: payload.client_payload });
});

const middleware = createNodeMiddleware(webhooks, { path: o.path });
listen(
  createServer(async (req, res) => {
    // `middleware` returns `false` when `req` is unhandled (beyond the path)
    if (await middleware(req, res)) return;
    res.writeHead(404);
    res.end();
  }),
  o.port,
);
