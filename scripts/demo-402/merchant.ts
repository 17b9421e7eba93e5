// The demo's paid API: a merchant's own process (Hono on node:http) with agentpay's x402 middleware,
// settling through the agentpay server with the merchant's API key, and an endpoint for agentpay's
// signed callbacks. It speaks to the demo in JSON lines on stdout; its configuration comes on stdin
// once the demo has registered it (the callback URL needs this process's port first).
import { createInterface } from "node:readline";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { Context, Next } from "hono";
import type { AddressInfo } from "node:net";
import { amount, verifyWebhookSignature } from "../../src/index.ts";
import { requirePayment } from "../../src/x402/index.ts";
import type { PaymentMiddleware } from "../../src/x402/index.ts";

const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
interface Config { agentpayUrl: string; merchantId: string; apiKey: string; callbackSecret: string }
let config: Config | undefined;
const gates: Record<string, PaymentMiddleware> = {};
const paid = (name: string, price: string, description: string) => {
  gates[name] = requirePayment({
    price: amount(price, "USD"), merchantId: config!.merchantId, description, mimeType: "application/json",
    server: { url: config!.agentpayUrl, apiKey: config!.apiKey },
    onEvent: (e) => say({ event: "gate", route: name, ...e, ...("amount" in e ? { amount: `${e.amount.minor}` } : {}) }),
  });
};

const app = new Hono();
// The gates exist once the demo has sent the merchant id and key.
const gate = (name: string) => (c: Context, next: Next) => gates[name]!(c, next);
app.get("/forecast", gate("forecast"), (c) => c.json({ city: c.req.query("city"), forecast: "sunny, 21°C", source: "Weather API" }));
app.get("/report", gate("report"), (c) => c.json({ topic: c.req.query("topic"), report: "markets calm; rates unchanged", pages: 12 }));
app.get("/dataset", gate("dataset"), (c) => c.json({ rows: 1_000_000 }));
app.post("/callbacks", async (c) => {
  const raw = await c.req.text();
  try {
    verifyWebhookSignature(config!.callbackSecret, c.req.header("agentpay-timestamp"), raw, c.req.header("agentpay-signature"));
  } catch {
    say({ event: "callback_rejected" });
    return c.text("bad signature", 401);
  }
  const body = JSON.parse(raw) as { type: string; subject: { paymentId?: string }; data: Record<string, unknown> };
  say({
    event: "callback", type: body.type, paymentId: body.subject.paymentId, initiator: c.req.header("agentpay-initiator"),
    agentId: c.req.header("agentpay-agent-id"), grantId: c.req.header("agentpay-grant-id"), reference: body.data.reference,
  });
  return c.text("ok");
});

const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => say({ event: "ready", url: `http://127.0.0.1:${info.port}` }));
const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  config = JSON.parse(line) as Config;
  paid("forecast", "0.25", "Tomorrow's forecast for a city");
  paid("report", "0.75", "A market report");
  paid("dataset", "5.00", "The full dataset");
  say({ event: "configured" });
});
rl.on("close", () => server.close());
process.on("SIGTERM", () => { server.close(); process.exit(0); });
