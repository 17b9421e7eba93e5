// The server side of bench:402, in its own process: agentpay (durable, on the default log store, with the
// risk engine) serving its HTTP API, and a merchant's API in the same process with two routes that do
// the same work: /paid behind requirePayment (settling in-process), /free without it. It prints one JSON
// line with what the load generator needs (agents' keys and sub-wallets), then serves until stdin closes.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve as honoServe } from "@hono/node-server";
import { Hono } from "hono";
import type { AddressInfo } from "node:net";
import { AgentPay, amount, defaultRuleSet } from "../../src/index.ts";
import { serve } from "../../src/http/index.ts";
import { requirePayment } from "../../src/x402/index.ts";

const AGENTS = Number(process.env.BENCH_AGENTS ?? 100);
// Synthetic agents pay one merchant many times a minute, which the default velocity and loop rules rightly
// flag (bench:payments switches off the same ones): every payment is still scored by the rest.
const OFF = new Set(["attempt-flood", "decline-streak", "duplicate-payment", "merchant-surge", "velocity-1m", "velocity-1h",
  "subwallet-velocity-1h", "same-merchant-burst", "daily-outflow"]);
const rules = { ...defaultRuleSet, version: `${defaultRuleSet.version}-bench402`, rules: defaultRuleSet.rules.map((r) => (OFF.has(r.id) ? { ...r, enabled: false } : r)) };

const dir = mkdtempSync(join(tmpdir(), "agentpay-bench-402-"));
const pay = await AgentPay.open({ dir, delivery: false, background: false, risk: { rules, breaker: { ownerMinMinor: 1e12 } } });
const api = await serve(pay, { port: 0, rateLimit: false, host: "127.0.0.1" });
const merchant = (await pay.merchants.register({ name: "Bench API", category: "5734", currencies: ["USD"] })).merchant;
const agents: Array<{ agentId: string; jwk: Record<string, unknown>; subWalletId: string }> = [];
for (let i = 0; i < AGENTS; i++) {
  const w = await pay.wallets.create({ ownerId: `person-${i}`, currency: "USD", timeZone: "UTC" });
  await pay.wallets.deposit(w.id, amount("100000.00", "USD"), { idempotencyKey: "seed" });
  const sw = await pay.wallets.createSubWallet(w.id, { name: "api", budget: amount("100000.00", "USD") });
  const { agent, privateKeyJwk } = await pay.agents.register({ name: `agent-${i}` });
  await pay.grants.create({ subWalletId: sw.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
  agents.push({ agentId: agent.id, jwk: privateKeyJwk!, subWalletId: sw.id });
}
// The same work behind both routes: a small JSON document.
const body = (n: string | undefined) => JSON.stringify({ n, data: "the same small answer for paid and free" });
const app = new Hono();
app.get("/paid", requirePayment({ price: amount("0.01", "USD"), merchantId: merchant.id, agentpay: pay, description: "bench" }), (c) => c.body(body(c.req.query("n")), 200, { "content-type": "application/json" }));
app.get("/free", (c) => c.body(body(c.req.query("n")), 200, { "content-type": "application/json" }));
const shop = await new Promise<string>((resolve) => {
  honoServe({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => resolve(`http://127.0.0.1:${info.port}`));
});
let cpu = process.cpuUsage();
// The main thread's own CPU too (the event loop is what one process cannot spread over cores).
let mainCpu = process.threadCpuUsage();
let profiler: Session | undefined;
process.stdout.write(`${JSON.stringify({ agentpayUrl: api.url, shopUrl: shop, merchantId: merchant.id, agents })}\n`);
// Commands on stdin: "cpu" prints the CPU used since the last "cpu"; "approve" approves every pending approval (the warm-up's first payments).
process.stdin.setEncoding("utf8");
let buf = "";
process.stdin.on("data", async (d: string) => {
  buf += d;
  let i: number;
  while ((i = buf.indexOf("\n")) >= 0) {
    const cmd = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (cmd === "cpu") {
      const u = process.cpuUsage(cpu);
      cpu = process.cpuUsage();
      const m = process.threadCpuUsage(mainCpu);
      mainCpu = process.threadCpuUsage();
      process.stdout.write(`${JSON.stringify({ cpuUs: u.user + u.system, mainCpuUs: m.user + m.system, ledgerOk: pay.ledger.check().ok, commands: pay.engine.stats.commands, batches: pay.engine.stats.batches })}\n`);
    } else if (cmd === "profile-start") {
      // bench:402's BENCH_PROFILE: a CPU profile of the paid phase only.
      profiler ??= new Session();
      profiler.connect();
      await profiler.post("Profiler.enable");
      await profiler.post("Profiler.start");
      process.stdout.write("{}\n");
    } else if (cmd.startsWith("profile-stop ") && profiler) {
      const { profile } = await profiler.post("Profiler.stop");
      writeFileSync(cmd.slice("profile-stop ".length), JSON.stringify(profile));
      process.stdout.write("{}\n");
    } else if (cmd === "approve") {
      let n = 0;
      for (const a of pay.approvals.listPending()) {
        await pay.approvals.approve(a.id);
        n++;
      }
      process.stdout.write(`${JSON.stringify({ approved: n })}\n`);
    }
  }
});
process.stdin.on("end", async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
