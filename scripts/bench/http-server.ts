// bench:http's server, in its own process (as `agentpay serve` runs): durable on the default store in
// the directory given, the benchmark's rule set (workload.ts), and no per-key rate limit (one load
// generator stands for hundreds of agents and merchants; unauthenticated intents would all share the
// one loopback address's bucket). Prints `listening <url>`; SIGTERM drains and closes.
import type { IncomingMessage, ServerResponse } from "node:http";
import { AgentPay, parseAmount } from "../../src/index.ts";
import { serve } from "../../src/http/index.ts";
import { benchRisk } from "./workload.ts";

const [dir, operatorKey] = process.argv.slice(2);
if (!dir || !operatorKey) throw new Error("usage: http-server.ts <data dir> <operator key>");
const pay = await AgentPay.open({ dir, delivery: false, background: false, risk: process.env.BENCH_RISK === "off" ? "off" : benchRisk });
const running = await serve(pay, { port: 0, operatorKeys: [operatorKey], rateLimit: false, maxWaitS: 30 });
if (process.env.BENCH_SERVER === "bare") bareHotRoutes();
process.stdout.write(`listening ${running.url}\n`);
process.once("SIGTERM", () => {
  running.close().then(() => process.exit(0), (e: unknown) => {
    process.stderr.write(`close failed: ${String(e)}\n`);
    process.exit(1);
  });
});

// BENCH_PROFILE=<file>: a CPU profile of just the measured window (SIGUSR2 starts it, SIGUSR1 writes it).
if (process.env.BENCH_PROFILE) {
  const { Session } = await import("node:inspector/promises");
  const { writeFileSync } = await import("node:fs");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  process.on("SIGUSR2", () => void session.post("Profiler.start"));
  process.on("SIGUSR1", () => void session.post("Profiler.stop").then(({ profile }) => writeFileSync(process.env.BENCH_PROFILE!, JSON.stringify(profile))));
}

if (process.env.BENCH_HEAP_PROFILE) {
  const { Session } = await import("node:inspector/promises");
  const { writeFileSync } = await import("node:fs");
  const session = new Session();
  session.connect();
  process.on("SIGUSR2", () => void session.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: process.env.BENCH_HEAP_ALL === "1", includeObjectsCollectedByMinorGC: process.env.BENCH_HEAP_ALL === "1" }));
  process.on("SIGUSR1", () => void session.post("HeapProfiler.stopSampling").then(({ profile }) => writeFileSync(process.env.BENCH_HEAP_PROFILE!, JSON.stringify(profile))));
}

/**
 * BENCH_SERVER=bare, a ceiling experiment, not a way to run agentpay: the two measured routes answered by a
 * bare node:http handler that calls the same library (no Hono, no zod, no middleware, no HTTP-level
 * idempotency record, minimal checks); every other route is the real app's. What this reaches is what any
 * HTTP layer in front of one engine thread could reach on the same cores.
 */
function bareHotRoutes(): void {
  const [app] = running.server.listeners("request") as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  running.server.removeAllListeners("request");
  const text = (req: IncomingMessage) => new Promise<string>((resolve, reject) => {
    let s = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (s += d)).on("end", () => resolve(s)).on("error", reject);
  });
  const reply = (res: ServerResponse, status: number, v: unknown) => {
    const t = JSON.stringify(pay.toWire(v));
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(t) }).end(t);
  };
  const fail = (res: ServerResponse) => (e: unknown) => reply(res, 500, { error: { code: (e as { code?: string }).code ?? "INTERNAL", message: String(e) } });
  running.server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "POST" && req.url === "/v1/payment-intents") {
      text(req).then(async (b) => reply(res, 201, await pay.payments.authorize((JSON.parse(b) as { intent: string }).intent))).catch(fail(res));
    } else if (req.method === "POST" && req.url === "/v1/payments/redeem") {
      text(req).then(async (b) => {
        const p = pay.apiKeys.authenticate(req.headers.authorization?.slice("Bearer ".length));
        if (p?.kind !== "merchant") return reply(res, 401, { error: { code: "UNAUTHENTICATED" } });
        const j = JSON.parse(b) as { token: string; amount: { value: string; currency: string } };
        const idempotencyKey = req.headers["idempotency-key"];
        if (typeof idempotencyKey !== "string") return reply(res, 400, { error: { code: "INVALID_INPUT" } });
        reply(res, 201, await pay.payments.redeem({ token: j.token, merchantId: p.merchantId, amount: parseAmount(j.amount.value, j.amount.currency, pay.currencies), idempotencyKey }));
      }).catch(fail(res));
    } else {
      app!(req, res);
    }
  });
}
