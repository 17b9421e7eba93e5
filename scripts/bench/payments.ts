// npm run bench:payments — the whole durable flow per payment: signed intent verified →
// grant + policy → risk hook → hold + token (one command) → the merchant's redemption
// verified → capture (one command), many agents and merchants at once, on the default store (LogStore).
// In the same run: the crypto floor, i.e. payments/s that node:crypto alone reaches
// doing one Ed25519 sign and two verifies per payment on one core (the best core: crypto-floor.ts).
// Last line: one JSON object with the figures the Token Pay issue asks for.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentPay, amount } from "../../src/index.ts";
import { createIntentSigner } from "../../src/agents/index.ts";
import { cryptoFloorPerCpu } from "./crypto-floor.ts";
import { benchRisk, benchRules, merchantOf, percentile as pct, priceOf } from "./workload.ts";

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 10) * 1000;
const AGENTS = Number(process.env.BENCH_AGENTS ?? 200);
const MERCHANTS = 50;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 400);
// BENCH_OPEN_RATE (payments/s) with BENCH_OPEN_SECONDS: after the closed loop and everything it reports,
// an open loop at that offered rate, with intents of its own (bench:http asks for it: the in-process
// latency at the rate its own p99 target is set at). Its figures are its own; the closed loop's are unchanged.
const OPEN_RATE = Number(process.env.BENCH_OPEN_RATE ?? 0);
const OPEN_SECONDS = Number(process.env.BENCH_OPEN_SECONDS ?? 10);
const RISK = process.env.BENCH_RISK ?? "engine"; // "engine" (the built-in risk engine, rule set of workload.ts) or "off" (the allow-all hook)

const root = mkdtempSync(join(tmpdir(), "agentpay-bench-pay-"));
try {
  // Measured before and again right after the payments (the machine's speed drifts), on each CPU
  // in turn; the ratio uses the mean of the two bests.
  const before = cryptoFloorPerCpu(1.5);
  const floorBefore = before.best;
  console.log(`crypto floor (node:crypto, 1 sign + 2 verifies per payment, best single core): ${floorBefore.toFixed(0)} payments/s (per CPU: ${before.perCpu.map((x) => x.toFixed(0)).join(", ") || "not pinned"})`);

  const pay = await AgentPay.open({
    dir: join(root, "db"), delivery: false, background: false, ...(process.env.BENCH_MAX_BATCH ? { maxBatch: Number(process.env.BENCH_MAX_BATCH) } : {}),
    // A person's drain breaker rightly trips when one person pays dozens of times a second: its
    // floor is raised so the synthetic people can.
    risk: RISK === "off" ? ("off" as const) : benchRisk,
  });
  const merchants: string[] = [];
  for (let m = 0; m < MERCHANTS; m++) {
    merchants.push((await pay.merchants.register({ name: `Merchant ${m}`, category: "5734", currencies: ["USD"] })).merchant.id);
  }
  interface AgentCtx { id: string; sw: string; signer: (body: unknown, o?: { nowMs?: number }) => Promise<string>; queue: Array<[string, string]>; openQueue: Array<[string, string]> }
  const agents: AgentCtx[] = [];
  for (let a = 0; a < AGENTS; a++) {
    // One person per agent, as in real traffic (a person's outflow is watched by the drain breaker).
    const wallet = await pay.wallets.create({ ownerId: `person-${a}`, currency: "USD", timeZone: "UTC" });
    await pay.wallets.deposit(wallet.id, amount("100000.00", "USD"), { idempotencyKey: "seed" });
    const sw = await pay.wallets.createSubWallet(wallet.id, { name: `agent ${a}`, budget: amount("100000.00", "USD") });
    const { agent, privateKeyJwk } = await pay.agents.register({ name: `agent-${a}` });
    await pay.grants.create({ subWalletId: sw.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
    agents.push({ id: agent.id, sw: sw.id, signer: await createIntentSigner(privateKeyJwk!, { agentId: agent.id }), queue: [], openQueue: [] });
  }
  // Traffic shaped like real agents' (workload.ts): each pays its own three merchants, amounts near its usual one.
  const mine = (a: number, i: number) => merchantOf(merchants, a, i);
  const price = priceOf;
  // Warm-up outside the window: each agent pays each of its merchants once (a never-paid merchant
  // is always reviewed, and approved here), so the agents have a history.
  let seq = 0;
  for (let r = 0; r < 2; r++) {
    for (const [ai, a] of agents.entries()) {
      for (let i = 0; i < 3; i++) {
        const res = await pay.payments.authorize(await a.signer({
          action: "pay", subWalletId: a.sw, merchantId: mine(ai, i), amount: price(ai, i), currency: "USD", idempotencyKey: `warm-${seq++}`,
        }, { nowMs: Date.now() }));
        if (res.status === "pending_approval") await pay.approvals.approve(res.approvalId);
      }
    }
  }
  // Agents sign their intents on their own machines: pre-sign, outside the measured window (the open
  // loop, if any, gets intents of its own, so a fast closed loop cannot use them up).
  const presign = async (queue: (a: AgentCtx) => Array<[string, string]>, perAgent: number, prefix: string) => {
    for (const [ai, a] of agents.entries()) {
      for (let i = 0; i < perAgent; i++) {
        const m = mine(ai, i);
        queue(a).push([m, await a.signer({
          action: "pay", subWalletId: a.sw, merchantId: m, amount: price(ai, i), currency: "USD", idempotencyKey: `${prefix}${seq++}`,
        }, { nowMs: Date.now() })]);
      }
    }
  };
  await presign((a) => a.queue, Math.ceil((Number(process.env.BENCH_MAX_RATE ?? 5000) * DURATION_MS) / 1000 / AGENTS) + 5, "p");
  if (OPEN_RATE > 0) await presign((a) => a.openQueue, Math.ceil((OPEN_RATE * OPEN_SECONDS) / AGENTS), "o");
  console.log(`${AGENTS} agents, ${MERCHANTS} merchants, ${seq} intents pre-signed, ${CONCURRENCY} in flight, risk: ${RISK === "off" ? "allow-all hook" : `engine, rule set ${benchRules.version}`}`);

  const authMs: number[] = [];
  const redeemMs: number[] = [];
  let done = 0;
  let declined = 0;
  let failed = 0;
  const failures = new Map<string, number>();
  const reasons = new Map<string, number>();
  const deadline = performance.now() + DURATION_MS;
  const started = performance.now();
  const writesBefore = pay.engine.stats.writes;
  const batchesBefore = pay.engine.stats.batches;
  const commandsBefore = pay.engine.stats.commands;
  // Main-thread CPU time: the serial engine's budget, and a figure other processes barely disturb.
  const cpuBefore = process.threadCpuUsage();
  const procCpuBefore = process.cpuUsage();
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const a = agents[next++ % AGENTS]!;
      const item = a.queue.pop();
      if (!item) break;
      const [merchant, jws] = item;
      const t0 = performance.now();
      try {
        const r = await pay.payments.authorize(jws);
        const t1 = performance.now();
        authMs.push(t1 - t0);
        if (r.status !== "approved") {
          declined++;
          for (const x of r.decision.risk.reasons) reasons.set(x.code, (reasons.get(x.code) ?? 0) + 1);
          continue;
        }
        // The merchant redeems for what it charges (the token is verified inside redeem).
        const p = pay.payments.get(r.paymentId);
        await pay.payments.redeem({ token: r.token, merchantId: merchant, amount: amount(p.amountMinor, "USD"), idempotencyKey: `r-${r.paymentId}` });
        redeemMs.push(performance.now() - t1);
        done++;
      } catch (e) {
        const code = (e as { code?: string }).code ?? "unknown";
        if (code === "PAYMENT_DECLINED") {
          declined++;
          for (const x of (e as { details: { reasons: Array<{ code: string }> } }).details.reasons) reasons.set(x.code, (reasons.get(x.code) ?? 0) + 1);
        }
        else failed++;
        failures.set(code, (failures.get(code) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.threadCpuUsage(cpuBefore);
  const procCpu = process.cpuUsage(procCpuBefore);
  const after = cryptoFloorPerCpu(1.5);
  const floorAfter = after.best;
  const floor = (floorBefore + floorAfter) / 2;
  console.log(`crypto floor again after the payments: ${floorAfter.toFixed(0)} payments/s (per CPU: ${after.perCpu.map((x) => x.toFixed(0)).join(", ") || "not pinned"}; mean of the bests ${floor.toFixed(0)})`);
  const cpuUsPerPayment = (cpu.user + cpu.system) / Math.max(1, done);
  const writesPerPayment = (pay.engine.stats.writes - writesBefore) / Math.max(1, done);
  const batches = pay.engine.stats.batches - batchesBefore;
  const commandsPerBatch = (pay.engine.stats.commands - commandsBefore) / Math.max(1, batches);
  const open = OPEN_RATE > 0 ? await openLoop() : undefined;
  const report = pay.ledger.check();
  await pay.close();
  const a = Float64Array.from(authMs).sort();
  const r = Float64Array.from(redeemMs).sort();
  const perSec = done / elapsed;
  console.log(`payments completed: ${done} in ${elapsed.toFixed(1)} s = ${perSec.toFixed(0)}/s; declined or reviewed ${declined}, failed ${failed} ${JSON.stringify(Object.fromEntries(failures))}`);
  if (reasons.size > 0) console.log(`reasons behind declines and reviews: ${JSON.stringify(Object.fromEntries([...reasons].sort((x, y) => y[1] - x[1])))}`);
  console.log(`authorize p50 ${pct(a, 0.5).toFixed(2)} ms, p99 ${pct(a, 0.99).toFixed(2)} ms; redeem p99 ${pct(r, 0.99).toFixed(2)} ms; ledger invariants ${report.ok ? "hold" : "BROKEN"}; ${writesPerPayment.toFixed(1)} records written per payment in ${batches} durable batches (${commandsPerBatch.toFixed(0)} commands each); main thread ${cpuUsPerPayment.toFixed(0)} µs CPU per payment (${((cpu.user + cpu.system) / 1e4 / elapsed).toFixed(0)}% busy); all threads ${((procCpu.user + procCpu.system) / Math.max(1, done)).toFixed(0)} µs CPU per payment (${((procCpu.user + procCpu.system) / 1e6 / elapsed).toFixed(2)} cores)`);
  console.log(JSON.stringify({
    payments_per_s: Math.round(perSec),
    p50_authorize_ms: Number(pct(a, 0.5).toFixed(2)),
    p99_authorize_ms: Number(pct(a, 0.99).toFixed(2)),
    p99_redeem_ms: Number(pct(r, 0.99).toFixed(2)),
    crypto_floor_payments_per_s: Math.round(floor),
    ratio: Number((perSec / floor).toFixed(3)),
    ...(open ? { [`p99_authorize_ms_at_${OPEN_RATE}_per_s`]: open.p99Ms } : {}),
  }));
  if (!report.ok || (open && !open.ok)) process.exitCode = 1;

  /** OPEN_RATE payments/s offered whatever the answers, each from the next agent's own open-loop intents; authorize latency from each one's scheduled time. */
  async function openLoop(): Promise<{ p99Ms: number; ok: boolean }> {
    const ms: number[] = [];
    const errors = new Map<string, number>();
    let ok = 0;
    const total = OPEN_RATE * OPEN_SECONDS;
    const one = async (i: number, scheduled: number) => {
      const ai = i % AGENTS;
      const [merchant, jws] = agents[ai]!.openQueue.pop()!;
      try {
        const r = await pay.payments.authorize(jws);
        ms.push(performance.now() - scheduled);
        if (r.status !== "approved") throw Object.assign(new Error(r.status), { code: r.status });
        const p = pay.payments.get(r.paymentId);
        await pay.payments.redeem({ token: r.token, merchantId: merchant, amount: amount(p.amountMinor, "USD"), idempotencyKey: `r-${r.paymentId}` });
        ok++;
      } catch (e) {
        const code = (e as { code?: string }).code ?? "unknown";
        errors.set(code, (errors.get(code) ?? 0) + 1);
      }
    };
    const inFlight = new Set<Promise<void>>();
    const start = performance.now();
    let offered = 0;
    while (offered < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) * OPEN_RATE) / 1000) + 1);
      for (; offered < due; offered++) {
        const p = one(offered, start + (offered * 1000) / OPEN_RATE).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(inFlight);
    const sorted = Float64Array.from(ms).sort();
    console.log(`open loop: ${total} payments offered at ${OPEN_RATE}/s, ${ok} completed, failed ${JSON.stringify(Object.fromEntries(errors))}; authorize latency from the scheduled time: p50 ${pct(sorted, 0.5).toFixed(2)} ms, p99 ${pct(sorted, 0.99).toFixed(2)} ms, max ${sorted[sorted.length - 1]?.toFixed(2)} ms`);
    return { p99Ms: Number(pct(sorted, 0.99).toFixed(2)), ok: ok === total };
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
