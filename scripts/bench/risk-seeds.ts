// node scripts/bench/risk-seeds.ts [--seeds 41-60] — the tuning harness for the risk rules: runs the same
// simulation as bench:risk on several seeds and prints per-seed and aggregate figures, plus where the lost money
// went (attack kind, victim's history) so a rule change can be judged on seeds that are NOT the reported one.
// The LAST line is one JSON object with bench:risk's fields, each the MEAN over the seeds of the per-seed figure.
// --seeds / BENCH_SEEDS: "11-40" (default) or a list "11,12,15"; BENCH_AGENTS, BENCH_DAYS, BENCH_WARMUP_DAYS,
// BENCH_ALLOW_LIST_SHARE as in bench:risk; BENCH_RULES: path to a JSON rule set to try instead of the default one;
// BENCH_ENABLE_RULES: optional rules of that set to switch on, comma-separated (e.g. first-payment).
// Tune on seeds 11-40 only; 41-60 are held out (checked once a rule set is final) and seed 1 (bench:risk's
// default) is for reporting, never for tuning.
import { readFileSync } from "node:fs";
import { RiskEngine, defaultRuleSet, enableRules, type RuleSet } from "../../src/risk/index.ts";
import { ATTACK_KINDS, runSimulation, simulate, summarize } from "../../src/risk/sim/index.ts";

function parseSeeds(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`seeds: cannot read "${part}"`);
    const lo = Number(m[1]), hi = m[2] === undefined ? lo : Number(m[2]);
    for (let x = lo; x <= hi; x++) out.push(x);
  }
  return out;
}

const argAt = process.argv.indexOf("--seeds");
const seeds = parseSeeds(argAt >= 0 ? process.argv[argAt + 1] ?? "" : process.env.BENCH_SEEDS ?? "11-40");
const agents = Number(process.env.BENCH_AGENTS ?? 11_000);
const days = Number(process.env.BENCH_DAYS ?? 14);
const warmupDays = Number(process.env.BENCH_WARMUP_DAYS ?? 30);
const allowListShare = Number(process.env.BENCH_ALLOW_LIST_SHARE ?? 0.5);
const enable = (process.env.BENCH_ENABLE_RULES ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "");
const base = process.env.BENCH_RULES ? JSON.parse(readFileSync(process.env.BENCH_RULES, "utf8")) as RuleSet : defaultRuleSet;
const rules = enable.length > 0 ? enableRules(base, enable) : base;

const fmtE = (x: number) => x.toExponential(2);
const tot = { legit: 0, legitRev: 0, legitDec: 0, attack: 0, caught: 0, lost: 0, value: 0, moved: 0, attackMoved: 0, byPolicy: 0 };
const lostByKind = new Map<string, number>();
const byHistory = { none: 0, few: 0, established: 0 };
const fields = ["decisions_per_s", "p50_us", "p99_us", "attack_recall", "legit_decline_rate", "legit_review_rate",
  "loss_by_value", "unauthorized_rate", "stopped_by_policy"] as const;
const perSeed: Array<Record<(typeof fields)[number], number>> = [];
let version = "";
console.log(`${agents} agents, ${warmupDays} warm-up days, ${days} measured days, ${(allowListShare * 100).toFixed(0)}% of sub-wallets with a category allow-list`);
console.log("seed  loss_by_value  lost_usd  unauthorized  attack_recall  by_policy  legit_review  legit_decline  p99_us  lost_by_kind");
for (const seed of seeds) {
  const sim = simulate({ seed, agents, days, warmupDays, allowListShare });
  const engine = new RiskEngine({ rules });
  version = engine.rules.version;
  const stats = runSimulation(engine, sim.payments, { measureFromMs: sim.measureFromMs });
  const s = summarize(stats);
  const l = stats.byLabel.get("legit")!;
  let lost = 0, value = l.valueMinor, caught = 0, attackMoved = 0, byPolicy = 0;
  const kinds: string[] = [];
  for (const k of ATTACK_KINDS) {
    const st = stats.byLabel.get(k)!;
    lost += st.valueLostMinor;
    value += st.valueMinor;
    caught += st.caught;
    attackMoved += st.moved;
    byPolicy += st.stoppedByPolicy;
    if (st.valueLostMinor > 0) {
      kinds.push(`${k} $${(st.valueLostMinor / 100).toFixed(0)} (${st.moved})`);
      lostByKind.set(k, (lostByKind.get(k) ?? 0) + st.valueLostMinor);
    }
  }
  for (const k of ["none", "few", "established"] as const) byHistory[k] += stats.lostByHistoryMinor[k];
  tot.legit += l.payments; tot.legitRev += l.reviewed; tot.legitDec += l.declined;
  tot.attack += s.attack_payments; tot.caught += caught; tot.lost += lost; tot.value += value;
  tot.moved += stats.movedPayments; tot.attackMoved += attackMoved; tot.byPolicy += byPolicy;
  const lat = Float64Array.from(stats.latenciesUs).sort();
  let us = 0;
  for (const x of stats.latenciesUs) us += x;
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]!;
  perSeed.push({
    decisions_per_s: stats.decisions / (us / 1e6), p50_us: pct(0.5), p99_us: pct(0.99),
    attack_recall: s.attack_recall, legit_decline_rate: s.legit_decline_rate, legit_review_rate: s.legit_review_rate,
    loss_by_value: s.loss_by_value, unauthorized_rate: s.unauthorized_rate, stopped_by_policy: s.stopped_by_policy,
  });
  console.log(`${String(seed).padStart(4)}  ${fmtE(s.loss_by_value).padStart(13)}  ${(lost / 100).toFixed(0).padStart(8)}  ` +
    `${fmtE(s.unauthorized_rate).padStart(12)}  ${s.attack_recall.toFixed(4).padStart(13)}  ${s.stopped_by_policy.toFixed(3).padStart(9)}  ` +
    `${s.legit_review_rate.toFixed(5).padStart(12)}  ${s.legit_decline_rate.toFixed(5).padStart(13)}  ${pct(0.99).toFixed(1).padStart(6)}  ${kinds.join(", ")}`);
}
const over = (f: (typeof fields)[number], limit: number) => perSeed.filter((x) => x[f] > limit).length;
console.log(`rules ${version}; pooled over seeds ${seeds.join(",")}: loss_by_value ${fmtE(tot.lost / tot.value)}, lost $${(tot.lost / 100).toFixed(0)}, ` +
  `unauthorized_rate ${fmtE(tot.attackMoved / tot.moved)} (${tot.attackMoved} of ${tot.moved} payments that moved money), ` +
  `attack_recall ${(tot.caught / tot.attack).toFixed(4)}, stopped_by_policy ${(tot.byPolicy / tot.attack).toFixed(4)}, ` +
  `legit_review ${(tot.legitRev / tot.legit).toFixed(5)}, legit_decline ${(tot.legitDec / tot.legit).toFixed(5)}`);
console.log(`seeds over a target: loss > 1e-5: ${over("loss_by_value", 1e-5)}, unauthorized > 1e-5: ${over("unauthorized_rate", 1e-5)}, ` +
  `legit reviews > 1%: ${over("legit_review_rate", 0.01)}, legit declines > 0.1%: ${over("legit_decline_rate", 0.001)}, ` +
  `recall < 0.995: ${perSeed.filter((x) => x.attack_recall < 0.995).length} (of ${perSeed.length})`);
console.log(`lost by the victim agent's committed payments when its incident reached it: none $${(byHistory.none / 100).toFixed(0)}, ` +
  `1-4 $${(byHistory.few / 100).toFixed(0)}, 5+ $${(byHistory.established / 100).toFixed(0)}`);
console.log(`lost by kind: ${[...lostByKind].map(([k, v]) => `${k} $${(v / 100).toFixed(0)}`).join(", ") || "none"}`);
const mean = (f: (typeof fields)[number]) => perSeed.reduce((a, x) => a + x[f], 0) / perSeed.length;
console.log(JSON.stringify({
  decisions_per_s: Math.round(mean("decisions_per_s")),
  p50_us: Number(mean("p50_us").toFixed(1)),
  p99_us: Number(mean("p99_us").toFixed(1)),
  attack_recall: Number(mean("attack_recall").toFixed(4)),
  legit_decline_rate: Number(mean("legit_decline_rate").toFixed(5)),
  legit_review_rate: Number(mean("legit_review_rate").toFixed(5)),
  loss_by_value: Number(mean("loss_by_value").toExponential(2)),
  unauthorized_rate: Number(mean("unauthorized_rate").toExponential(2)),
  stopped_by_policy: Number(mean("stopped_by_policy").toFixed(4)),
}));
