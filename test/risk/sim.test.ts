import { expect } from "chai";
import { RiskEngine } from "../../src/risk/index.ts";
import { ATTACK_KINDS, PERSONAS, Prng, formatTable, policyVerdict, runSimulation, simulate, summarize } from "../../src/risk/sim/index.ts";
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

  it("half the sub-wallets carry an allow-list of their persona's categories, which no legitimate payment leaves; the traffic is the same with or without them", () => {
    const opts = { seed: 5, agents: 1500, warmupDays: 2, days: 3 };
    const a = simulate(opts), none = simulate({ ...opts, allowListShare: 0 });
    const byAgent = new Map<string, ReadonlySet<string> | undefined>();
    for (const p of a.payments) byAgent.set(p.intent.agentId, p.allowedCategories);
    const lists = [...byAgent.values()];
    const share = lists.filter((l) => l !== undefined).length / lists.length;
    expect(share).to.be.within(0.45, 0.55);
    const personaLists = new Set(PERSONAS.map((x) => x.categories.map((c) => c.mcc).sort().join(",")));
    for (const l of lists) if (l !== undefined) expect(personaLists.has([...l].sort().join(","))).to.equal(true);
    for (const p of a.payments) {
      expect(p.allowedCategories).to.equal(byAgent.get(p.intent.agentId));   // one policy per sub-wallet
      if (p.label === "legit" && p.allowedCategories) expect(p.allowedCategories.has(p.intent.category)).to.equal(true);
    }
    const key = (r: typeof a) => r.payments.map((p) => `${p.intent.atMs}|${p.intent.agentId}|${p.intent.amountMinor}|${p.label}`).join("\n");
    expect(key(none)).to.equal(key(a));
    expect(none.payments.every((p) => p.allowedCategories === undefined)).to.equal(true);
  });

  it("agents onboarded during the measured days have no history before they start", () => {
    const sim = simulate({ seed: 8, agents: 3000, warmupDays: 10, days: 5, newAgentsPerDay: 0.01 });
    const first = new Map<string, number>();
    for (const p of sim.payments) if (!first.has(p.intent.agentId)) first.set(p.intent.agentId, p.intent.atMs);
    const lateStarters = [...first.values()].filter((t) => t >= sim.measureFromMs + 86_400_000).length;
    // 1% of agents a day over 15 days: ~15% fresh, a third of them starting in the measured days (minus quiet agents)
    expect(lateStarters).to.be.within(60, 220);
    for (const p of sim.payments) {
      if (p.intent.grantCreatedAtMs! > sim.payments[0]!.intent.atMs) expect(p.intent.atMs - p.intent.grantCreatedAtMs!).to.be.at.least(0);
    }
  });

  it("decides each payment with its policy: an allow-list or the cap declines, the approval threshold asks the person", () => {
    const base = { intent: intent({ category: "5411", amountMinor: 5_000n, approvalThresholdMinor: 10_000n, perPaymentLimitMinor: 20_000n }), label: "legit" as const, incident: 0, failsIfAllowed: false };
    expect(policyVerdict(base)).to.equal("allow");
    expect(policyVerdict({ ...base, allowedCategories: new Set(["5411"]) })).to.equal("allow");
    expect(policyVerdict({ ...base, allowedCategories: new Set(["5812"]) })).to.equal("decline");
    expect(policyVerdict({ ...base, intent: { ...base.intent, amountMinor: 10_001n } })).to.equal("review");
    expect(policyVerdict({ ...base, intent: { ...base.intent, amountMinor: 10_000n } })).to.equal("allow");
    expect(policyVerdict({ ...base, intent: { ...base.intent, amountMinor: 20_001n } })).to.equal("decline");
  });

  it("counts what the policy stopped, what the engine sent to the person beyond the person's own threshold, and what moved", () => {
    // the engine reviews amounts of exactly 700 (a hard review) and declines 999 by score
    const rules = { version: "t", thresholds: { review: 1, decline: 2 }, rules: [
      { id: "r", kind: "review", code: "R", message: "r", when: { feature: "intent.amountMinor", op: "==", value: 700 } },
      { id: "s", kind: "score", score: 5, code: "S", message: "s", when: { feature: "intent.amountMinor", op: "==", value: 999 } }] };
    let t = T0;
    const pay = (amountMinor: bigint, label: SimLabel, over: Partial<SimPayment> = {}): SimPayment =>
      ({ intent: intent({ agentId: "a", merchantId: "m", amountMinor, atMs: (t += HOUR), approvalThresholdMinor: 800n }), label, incident: label === "legit" ? 0 : 1, failsIfAllowed: false, ...over });
    const allow = new Set(["5411"]);
    const ps: SimPayment[] = [
      pay(100n, "legit"),                                                   // moves
      pay(700n, "legit"),                                                   // the engine asks: a review; moves once approved
      pay(900n, "legit"),                                                   // the person's threshold asks: not counted as a review
      pay(999n, "legit"),                                                   // above the threshold a score decline goes to the person
      pay(100n, "legit", { failsIfAllowed: true }),                         // allowed but fails: moves nothing
      pay(100n, "scope_drift", { allowedCategories: new Set(["5812"]) }),  // the allow-list stops it
      pay(900n, "payee_swap"),                                              // the threshold stops it (the person denies)
      pay(200n, "payee_swap", { allowedCategories: allow }),                // moves
      pay(999n, "amount_spike"),                                            // score decline, person asked, denies
    ];
    const stats = runSimulation(new RiskEngine({ rules }), ps, { measureFromMs: 0 });
    const s = summarize(stats);
    const legit = stats.byLabel.get("legit")!;
    expect({ reviewed: legit.reviewed, policyReviewed: legit.policyReviewed, declined: legit.declined, moved: legit.moved })
      .to.deep.equal({ reviewed: 1, policyReviewed: 2, declined: 0, moved: 4 });
    expect(stats.movedPayments).to.equal(5);
    expect(s.unauthorized_rate).to.equal(1 / 5);
    expect(s.stopped_by_policy).to.equal(3 / 4);
    expect(s.attack_recall).to.equal(3 / 4);
    expect(s.legit_review_rate).to.equal(1 / 5);
    expect(s.legit_policy_review_rate).to.equal(2 / 5);
    expect(stats.byLabel.get("scope_drift")!).to.include({ declined: 1, stoppedByPolicy: 1, moved: 0 });
    expect(stats.byLabel.get("amount_spike")!).to.include({ caught: 1, policyReviewed: 1, declined: 0 });
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
