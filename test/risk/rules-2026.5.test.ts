import { expect } from "chai";
import { RiskEngine, defaultRuleSet, type RiskDecision, type RuleSet } from "../../src/risk/index.ts";
import { DAY, HOUR, MIN, T0, codes, edges, fires, intent, popular, rec } from "./helpers.ts";

function probe(feature: string): RuleSet {
  return { version: "probe-1", thresholds: { review: 1, decline: 1000 },
    rules: [{ id: "p", kind: "score", score: 1, code: "P", when: { feature, op: ">=", value: -1e9 }, message: `{${feature}}` }] };
}
const value = (d: RiskDecision) => Number(d.reasons.find((r) => r.ruleId === "p")?.message ?? NaN);

describe("risk rules default-2026.5", () => {
  it("its new rules (kept in default-2026.6) ask the person without adding score", () => {
    for (const id of ["little-history-new-directions", "new-price-under-limit", "large-day", "recently-declined-here"]) {
      const r = defaultRuleSet.rules.find((x) => x.id === id)!;
      expect(r.kind, id).to.equal("review");
    }
    for (const id of ["little-history-new-directions", "new-price-under-limit", "large-day"]) {
      expect(defaultRuleSet.rules.find((x) => x.id === id)!.score, id).to.equal(0);
    }
    for (const id of ["new-merchants-day", "new-group-broad", "amount-over-max", "amount-over-max-far"]) {
      expect(defaultRuleSet.rules.find((x) => x.id === id), id).to.equal(undefined);
    }
  });

  it("little-history-new-directions: threshold edges of both branches", () => {
    const few = {
      "grant.ageMs": 7 * DAY, "agent.categoryTxCount": 2, "agent.merchantNew": 1, "agent.attempts1h": 0, "agent.categoryAffinity": 0.39,
      "agent.txCount": 9, "agent.count24h": 0, "agent.newCategoryAttempts24h": 2,
    };
    edges("little-history-new-directions", few, [
      { "grant.ageMs": 7 * DAY - 1 }, { "agent.categoryTxCount": 3 }, { "agent.merchantNew": 0 }, { "agent.attempts1h": 1 },
      { "agent.categoryAffinity": 0.4 }, { "agent.txCount": 10 }, { "agent.newCategoryAttempts24h": 1 },
    ]);
    expect(fires("little-history-new-directions", { ...few, "agent.categoryAffinity": -1 })).to.equal(true);   // no evidence: counts as low
    // dormant branch: everything the agent ever paid was within the last 24 hours, one new category before this one
    const dormant = { ...few, "agent.txCount": 2, "agent.count24h": 2, "agent.newCategoryAttempts24h": 1 };
    edges("little-history-new-directions", dormant, [{ "agent.count24h": 1 }, { "agent.newCategoryAttempts24h": 0 }, { "grant.ageMs": 6 * DAY }]);
    expect(fires("little-history-new-directions", { ...dormant, "agent.txCount": 0, "agent.count24h": 0 })).to.equal(true);
  });

  it("new-price-under-limit and large-day: threshold edges", () => {
    edges("new-price-under-limit", { "agent.repeatShare": 0.8, "agent.amountRepeats": 0, "intent.nearLimitRatio": 0.85 }, [
      { "agent.repeatShare": 0.79 }, { "agent.amountRepeats": 1 }, { "intent.nearLimitRatio": 0.84 }, { "intent.nearLimitRatio": 1.01 },
      { "agent.repeatShare": -1 },
    ]);
    expect(fires("new-price-under-limit", { "agent.repeatShare": 1, "agent.amountRepeats": 0, "intent.nearLimitRatio": 1 })).to.equal(true);
    edges("large-day", { "amount.popRatio": 5, "amount.priorRatio": 3.5, "agent.dailyRatio": 4 }, [
      { "amount.popRatio": 4.99 }, { "amount.priorRatio": 3.49 }, { "agent.dailyRatio": 3.99 },
    ]);
  });

  it("new-group-fits scores 30, so a focused agent's first step into a new kind of category at a new payee is reviewed", () => {
    const r = defaultRuleSet.rules.find((x) => x.id === "new-group-fits")!;
    expect(r.score).to.equal(30);
  });

  it("agent.amountRepeats and agent.repeatShare: fixed price points are remembered, a new amount is not a repeat", () => {
    const e = new RiskEngine({ rules: probe("agent.repeatShare") });
    let t = T0;
    expect(value(e.score(intent({ atMs: t })))).to.equal(-1);                      // unknown agent
    for (let i = 0; i < 20; i++, t += 6 * HOUR) rec(e, intent({ amountMinor: i % 2 === 0 ? 2_000n : 5_000n, atMs: t }));
    // two price points: all but the first two payments repeat one (weight 1/n, at least 0.05)
    expect(value(e.score(intent({ atMs: t })))).to.be.closeTo(0.9, 0.01);
    e.loadRules(probe("agent.amountRepeats"));
    expect(value(e.score(intent({ amountMinor: 5_000n, atMs: t })))).to.equal(8);     // 8 of the last 16
    expect(value(e.score(intent({ amountMinor: 4_999n, atMs: t })))).to.equal(0);
    // under 5 payments the share is unknown
    const f = new RiskEngine({ rules: probe("agent.repeatShare") });
    for (let i = 0; i < 4; i++) rec(f, intent({ atMs: T0 + i }));
    expect(value(f.score(intent({ atMs: T0 + 10 })))).to.equal(-1);
    rec(f, intent({ atMs: T0 + 5 }));
    expect(value(f.score(intent({ atMs: T0 + 10 })))).to.equal(0.8);               // 4 of 5 repeated
  });

  it("repeatShare survives export / import; a state without it (before 2026.5) imports as 0", () => {
    const e = new RiskEngine({ rules: probe("agent.repeatShare") });
    for (let i = 0; i < 10; i++) rec(e, intent({ atMs: T0 + i * HOUR }));
    const s = JSON.parse(JSON.stringify(e.exportState())) as ReturnType<RiskEngine["exportState"]>;
    const f = new RiskEngine();
    f.importState(s);
    const at = T0 + DAY;
    expect(value(f.score(intent({ atMs: at })))).to.equal(value(e.score(intent({ atMs: at }))));
    for (const [, a] of s.agents) delete (a as Record<string, unknown>).repeatShare;
    const g = new RiskEngine();
    g.importState(s);
    expect(value(g.score(intent({ atMs: at })))).to.equal(0);
  });

  it("scenario: a sparse agent with an old grant spreads into new categories over a day and is asked about", () => {
    const e = new RiskEngine();
    const grant = T0 - 30 * DAY;
    const me = { agentId: "agt_s", subWalletId: "sub_s", grantCreatedAtMs: grant };
    for (const [m, c] of [["mch_5812_1", "5812"], ["mch_5812_2", "5812"], ["mch_4121_1", "4121"], ["mch_4121_2", "4121"], ["mch_5411_1", "5411"]]) {
      popular(e, m!, c!, T0);
    }
    // its only payments so far: one a week ago
    rec(e, intent({ ...me, merchantId: "mch_5411_1", category: "5411", amountMinor: 6_000n, atMs: T0 }));
    let t = T0 + 7 * DAY;
    rec(e, intent({ ...me, merchantId: "mch_5812_1", category: "5812", amountMinor: 3_000n, atMs: t }));
    t += 3 * HOUR;
    rec(e, intent({ ...me, merchantId: "mch_4121_1", category: "4121", amountMinor: 2_500n, atMs: t }));
    t += 2 * HOUR;
    const third = e.score(intent({ ...me, merchantId: "mch_5812_2", category: "5812", amountMinor: 3_000n, atMs: t }));
    expect(codes(third)).to.include("LITTLE_HISTORY_NEW_DIRECTIONS");
    expect(third.outcome).to.equal("review");
    // within a booking session (an attempt in the last hour) it is not flagged
    const session = e.score(intent({ ...me, merchantId: "mch_5812_2", category: "5812", amountMinor: 3_000n, atMs: t - 2 * HOUR + 20 * MIN }));
    expect(codes(session)).to.not.include("LITTLE_HISTORY_NEW_DIRECTIONS");
  });
});
