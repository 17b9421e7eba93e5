// npm run bench:risk — a seeded simulated run (normal agent traffic + injected attacks) through the
// risk engine's score + record. Prints a table per attack type, the baselines, and as the LAST line
// one JSON object with the figures the risk issue asks for.
// BENCH_SEED (default 1, never tuned on: rules 2026.2 were tuned on seeds 11-14, checked on 11-20; 2026.5 and
// 2026.6 were tuned on seeds 11-20, 2026.8 and 2026.9 on seeds 11-40 and checked on 41-60, with scripts/bench/risk-seeds.ts),
// BENCH_ENABLE_RULES: optional default rules to switch on, comma-separated (e.g. first-payment),
// BENCH_AGENTS (default 11000), BENCH_DAYS (default 14), BENCH_WARMUP_DAYS (default 30: the history the engine
// has seen before attacks begin), BENCH_ALLOW_LIST_SHARE (default 0.5: sub-wallets whose policy has a category
// allow-list). Each payment is decided as the payment flow decides it: the sub-wallet's policy and the risk
// engine, combined by combineVerdicts.
import { RiskEngine, defaultRuleSet, enableRules } from "../../src/risk/index.ts";
import { formatTable, runSimulation, simulate, summarize } from "../../src/risk/sim/index.ts";

const seed = Number(process.env.BENCH_SEED ?? 1);
const agents = Number(process.env.BENCH_AGENTS ?? 11_000);
const days = Number(process.env.BENCH_DAYS ?? 14);
const warmupDays = Number(process.env.BENCH_WARMUP_DAYS ?? 30);
const allowListShare = Number(process.env.BENCH_ALLOW_LIST_SHARE ?? 0.5);

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

const g0 = performance.now();
const sim = simulate({ seed, agents, days, warmupDays, allowListShare });
const genMs = performance.now() - g0;
const n = sim.payments.length;

// Raw baseline: the same loop shape without the engine (build the event object, touch the amount).
let sink = 0;
const r0 = performance.now();
for (const p of sim.payments) {
  const ev = { ...p.intent, kind: "authorized" as const };
  sink += Number(ev.amountMinor) & 1;
}
const rawUs = ((performance.now() - r0) * 1000) / n;

const enable = (process.env.BENCH_ENABLE_RULES ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "");
const engine = new RiskEngine(enable.length > 0 ? { rules: enableRules(defaultRuleSet, enable) } : {});
const stats = runSimulation(engine, sim.payments, { measureFromMs: sim.measureFromMs });
const lat = Float64Array.from(stats.latenciesUs).sort();
let engineUs = 0;
for (const x of stats.latenciesUs) engineUs += x;
const s = summarize(stats);

console.log(`seed ${seed}: ${n} payments (${s.legit_payments} legitimate and ${s.attack_payments} attack payments measured ` +
  `after ${((sim.measureFromMs - sim.payments[0]!.intent.atMs) / 86_400_000).toFixed(1)} warm-up days), ` +
  `${sim.agents} agents of ${sim.owners} people, ${days} measured days; ${(allowListShare * 100).toFixed(0)}% of sub-wallets with a category allow-list`);
console.log(`rules ${engine.rules.version}`);
console.log(formatTable(stats));
console.log(`breaker trips: ${stats.breakerTrips.filter((t) => t.scope === "global").length} global, ` +
  `${stats.breakerTrips.filter((t) => t.scope === "owner").length} per person; ` +
  `legitimate payments held by an open breaker: ${stats.legitHeldByBreaker}`);
console.log(`attack value that moved: ${(s.attack_value_missed_share * 100).toFixed(2)}% of attack value; ` +
  `loss_by_value = attack money moved / all money asked for; unauthorized_rate = attack payments that moved money / ` +
  `all ${stats.movedPayments} payments that moved money`);
console.log(`stopped by the policy: ${(s.stopped_by_policy * 100).toFixed(1)}% of attack payments (declined by it, or sent by it ` +
  `to the person); legitimate payments the person's own approval threshold sent to them: ${(s.legit_policy_review_rate * 100).toFixed(2)}% ` +
  `(not counted in legit_review_rate, which counts what the risk engine added)`);
const lh = stats.lostByHistoryMinor;
console.log(`attack money that moved, by the victim agent's committed payments when its incident reached it: ` +
  `none $${(lh.none / 100).toFixed(2)}, 1-4 $${(lh.few / 100).toFixed(2)}, 5+ $${(lh.established / 100).toFixed(2)}`);
console.log(`engine state: ${JSON.stringify(engine.stats())}`);
console.log(`baselines: simulator generation ${((genMs * 1000) / n).toFixed(2)} µs/payment; ` +
  `raw loop (event object, no engine) ${rawUs.toFixed(3)} µs/payment; engine score+record mean ${(engineUs / n).toFixed(2)} µs ` +
  `(${(engineUs / n / rawUs).toFixed(0)}x the raw loop)${sink < 0 ? "" : ""}`);
console.log(`end to end incl. runner: ${(n / (stats.elapsedMs / 1000)).toFixed(0)} payments/s; engine only: ${(n / (engineUs / 1e6)).toFixed(0)} decisions/s`);
console.log(JSON.stringify({
  decisions_per_s: Math.round(n / (engineUs / 1e6)),
  p50_us: Number(pct(lat, 0.5).toFixed(1)),
  p99_us: Number(pct(lat, 0.99).toFixed(1)),
  attack_recall: Number(s.attack_recall.toFixed(4)),
  legit_decline_rate: Number(s.legit_decline_rate.toFixed(5)),
  legit_review_rate: Number(s.legit_review_rate.toFixed(5)),
  loss_by_value: Number(s.loss_by_value.toExponential(2)),
  unauthorized_rate: Number(s.unauthorized_rate.toExponential(2)),
  stopped_by_policy: Number(s.stopped_by_policy.toFixed(4)),
}));
