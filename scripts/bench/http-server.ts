// bench:http's server, in its own process (as `agentpay serve` runs): durable on the default store in
// the directory given, the benchmark's rule set (workload.ts), and no per-key rate limit (one load
// generator stands for hundreds of agents and merchants; unauthenticated intents would all share the
// one loopback address's bucket). Prints `listening <url>`; SIGTERM drains and closes.
import { AgentPay } from "../../src/index.ts";
import { serve } from "../../src/http/index.ts";
import { benchRisk } from "./workload.ts";

const [dir, operatorKey] = process.argv.slice(2);
if (!dir || !operatorKey) throw new Error("usage: http-server.ts <data dir> <operator key>");
const pay = await AgentPay.open({ dir, delivery: false, background: false, risk: process.env.BENCH_RISK === "off" ? "off" : benchRisk });
const running = await serve(pay, { port: 0, operatorKeys: [operatorKey], rateLimit: false, maxWaitS: 30 });
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
