import { expect } from "chai";
import { RiskEngine } from "../../src/risk/index.ts";
import { ATTACK_KINDS, Prng, formatTable, runSimulation, simulate, summarize } from "../../src/risk/sim/index.ts";
import type { SimLabel, SimPayment } from "../../src/risk/sim/index.ts";
import { HOUR, T0, intent } from "./helpers.ts";

describe("risk simulator", () => {
  it("the PRNG is deterministic per seed", () => {
    const a = new Prng(42), b = new Prng(42), c = new Prng(43);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).to.deep.equal(xs);
    expect(Array.from({ length: 5 }, () => c.nextU32())).to.not.deep.equal(xs);
  });

  it("generates the same run for the same seed, in time order, with every attack kind", () => {
    const opts = { seed: 5, agents: 800, warmupDays: 2, days: 4 };
    const a = simulate(opts), b = simulate(opts), c = simulate({ ...opts, seed: 6 });
    const key = (r: typeof a) => r.payments.map((p) => `${p.intent.atMs}|${p.intent.agentId}|${p.intent.merchantId}|${p.intent.amountMinor}|${p.label}`).join("\n");
    expect(key(a)).to.equal(key(b));
    expect(key(a)).to.not.equal(key(c));
    for (let i = 1; i < a.payments.length; i++) expect(a.payments[i]!.intent.atMs).to.be.at.least(a.payments[i - 1]!.intent.atMs);
    const labels = new Set(a.payments.map((p) => p.label));
    for (const k of ATTACK_KINDS) expect(labels.has(k), k).to.equal(true);
    for (const p of a.payments) if (p.label !== "legit") expect(p.intent.atMs).to.be.at.least(a.measureFromMs);
  });

  it("splits the attack money that moved by the victim's committed payments when its incident began", () => {
    // allows everything except amounts of exactly 999 (declined)
    const rules = { version: "t", thresholds: { review: 1, decline: 2 }, rules: [
      { id: "d", kind: "decline", code: "D", message: "d", when: { feature: "intent.amountMinor", op: "==", value: 999 } }] };
    let t = T0;
    const pay = (agentId: string, amountMinor: bigint, label: SimLabel, incident: number, failsIfAllowed = false): SimPayment =>
      ({ intent: intent({ agentId, subWalletId: `sub_${agentId}`, merchantId: `mch_${agentId}`, amountMinor, atMs: (t += HOUR) }), label, incident, failsIfAllowed });
    const ps: SimPayment[] = [
      pay("a", 100n, "scope_drift", 1), pay("a", 50n, "scope_drift", 1),            // none: both count, though a has paid once by the second
      pay("b", 11n, "legit", 0, true), pay("b", 999n, "legit", 0),                  // a failed or declined attempt is no history
      pay("b", 70n, "scope_drift", 2),                                              // none
      pay("d", 10n, "legit", 0),
      pay("d", 200n, "payee_swap", 4), pay("d", 999n, "payee_swap", 4),             // 1-4; the declined one moved nothing
      ...Array.from({ length: 5 }, (_, i) => pay("c", BigInt(20 + i), "legit", 0)),
      pay("c", 300n, "amount_spike", 3), pay("c", 300n, "amount_spike", 3, true),   // 5+; the failed one moved nothing
      // one incident across agents (a mass compromise): each victim is judged by its own history
      pay("d", 40n, "mass_compromise", 5), pay("e", 30n, "mass_compromise", 5), pay("c", 20n, "mass_compromise", 5),
    ];
    const stats = runSimulation(new RiskEngine({ rules }), ps, { measureFromMs: 0 });
    expect(stats.lostByHistoryMinor).to.deep.equal({ none: 250, few: 240, established: 320 });
    let lost = 0;
    for (const k of ATTACK_KINDS) lost += stats.byLabel.get(k)!.valueLostMinor;
    expect(lost).to.equal(810);
  });

  it("measures detection: attacks are mostly caught, legitimate traffic mostly flows", () => {
    const sim = simulate({ seed: 9, agents: 3000, warmupDays: 4, days: 5 });
    let rulesReviewed = 0;   // legitimate payments sent to review by the rules, not by an open drain breaker
    const stats = runSimulation(new RiskEngine(), sim.payments, { measureFromMs: sim.measureFromMs, onDecision: (p, d) => {
      if (p.label === "legit" && p.intent.atMs >= sim.measureFromMs && d.outcome === "review" && !d.reasons.some((r) => r.ruleId === "drain-breaker")) rulesReviewed++;
    } });
    const s = summarize(stats);
    expect(s.attack_payments).to.be.greaterThan(500);
    expect(s.attack_recall).to.be.greaterThan(0.9);
    // This run packs the big benchmark's attack incidents into 5 days of 3,000 agents (~10x the attack
    // density), so the drain breaker's collateral (legitimate payments of people whose outflow it holds
    // after a mass compromise) swings between 0.5% and 1.2% from seed to seed; it is bounded on its own,
    // and the rules' own review rate is bounded apart from it (bench:risk measures the real rate, ≤ 1%).
    const legit = stats.byLabel.get("legit")!;
    expect(stats.legitHeldByBreaker / legit.payments).to.be.lessThan(0.015);
    expect(rulesReviewed / legit.payments).to.be.lessThan(0.03);
    expect(s.legit_decline_rate).to.be.lessThan(0.005);
    for (const k of ["runaway_loop", "card_testing", "payee_swap", "slow_drain", "mass_compromise"] as const) {
      const l = stats.byLabel.get(k)!;
      expect(l.caught / l.payments, k).to.be.greaterThan(0.95);
    }
    expect(formatTable(stats)).to.contain("mass_compromise");
  });
});
