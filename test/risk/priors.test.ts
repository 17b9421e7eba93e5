import { expect } from "chai";
import { RiskEngine, type RiskDecision, type RuleSet } from "../../src/risk/index.ts";
import { DAY, HOUR, T0, history, intent, popular, rec } from "./helpers.ts";

const codes = (d: RiskDecision) => d.reasons.map((r) => r.code);

/** A rule set that reports one feature's value in its message (fires when feature >= min). */
function probe(feature: string, min = -1e9): RuleSet {
  return { version: "probe-1", thresholds: { review: 1, decline: 1000 },
    rules: [{ id: "p", kind: "score", score: 1, code: "P", when: { feature, op: ">=", value: min }, message: `{${feature}}` }] };
}
const value = (d: RiskDecision) => Number(d.reasons.find((r) => r.ruleId === "p")?.message ?? NaN);

/** `n` agents each paying once in `category`, around `medianMinor` (a spread of about ±20%). */
function population(e: RiskEngine, category: string, medianMinor: number, n: number, t = T0): void {
  for (let i = 0; i < n; i++) {
    const amt = BigInt(Math.round(medianMinor * (0.8 + 0.4 * ((i * 7919) % 97) / 96)));
    rec(e, intent({ agentId: `agt_pop_${category}_${i}`, subWalletId: `sub_pop_${category}_${i}`, ownerId: `own_pop${i}`,
      merchantId: `mch_${category}_${i % 5}`, category, amountMinor: amt, atMs: t + i }));
  }
}

/** `n` agents each paying in every category of `cats` (so the categories co-occur). */
function profile(e: RiskEngine, prefix: string, cats: string[], n: number, t = T0): void {
  for (let i = 0; i < n; i++) {
    for (const c of cats) {
      rec(e, intent({ agentId: `agt_${prefix}${i}`, subWalletId: `sub_${prefix}${i}`, ownerId: `own_${prefix}${i}`,
        merchantId: `mch_${c}_${i % 4}`, category: c, amountMinor: 3_000n, atMs: t + i }));
    }
  }
}

describe("risk engine: priors for agents with little history", () => {
  it("population prior: what all agents pay in a category, from the first payment of a new agent", () => {
    const e = new RiskEngine({ rules: probe("amount.popRatio") });
    population(e, "5814", 1_500, 29);
    // below 30 payments in the category (and its group) there is no prior
    expect(value(e.score(intent({ agentId: "agt_new", category: "5814", amountMinor: 15_000n, atMs: T0 + DAY })))).to.equal(1);
    population(e, "5814", 1_500, 40, T0 + HOUR);
    const r = value(e.score(intent({ agentId: "agt_new", category: "5814", amountMinor: 15_000n, atMs: T0 + DAY })));
    expect(r).to.be.within(9, 11);
    // the group's prior stands in for a category with too few payments of its own (5812 is dining too)
    expect(value(e.score(intent({ agentId: "agt_new", category: "5812", amountMinor: 15_000n, atMs: T0 + DAY })))).to.be.within(9, 11);
  });

  it("a new agent's first payment far above what everyone pays in the category is an amount spike", () => {
    const e = new RiskEngine();
    population(e, "5814", 1_500, 60);
    const d = e.score(intent({ agentId: "agt_new", merchantId: "mch_5814_1", category: "5814", amountMinor: 40_000n, atMs: T0 + DAY }));
    expect(codes(d)).to.include("AMOUNT_SPIKE");
    expect(d.outcome).to.not.equal("allow");
    const usual = e.score(intent({ agentId: "agt_new", merchantId: "mch_5814_1", category: "5814", amountMinor: 1_600n, atMs: T0 + DAY }));
    expect(usual.outcome).to.equal("allow");
  });

  it("priorZ shrinks the agent's own category history toward the population prior", () => {
    const e = new RiskEngine({ rules: probe("amount.priorRatio") });
    population(e, "5411", 6_000, 60);
    // this agent always pays about 120.00 at its grocer: after many payments its own history dominates
    history(e, 30, { agentId: "agt_big", subWalletId: "sub_big", category: "5411", amountMinor: 12_000n }, HOUR, T0 + DAY);
    const own = value(e.score(intent({ agentId: "agt_big", category: "5411", amountMinor: 5_000n, atMs: T0 + 3 * DAY })));
    const fresh = value(e.score(intent({ agentId: "agt_fresh", category: "5411", amountMinor: 5_000n, atMs: T0 + 3 * DAY })));
    expect(own).to.be.lessThan(0.8);          // 50.00 is small for this agent
    expect(fresh).to.be.within(0.5, 1.1);     // and ordinary for agents in general
  });

  it("policy caps as a prior: an unusual amount just under the sub-wallet's limit goes to review, a usual one does not", () => {
    const e = new RiskEngine();
    population(e, "5411", 5_000, 60);
    const caps = { approvalThresholdMinor: 16_000n, perPaymentLimitMinor: 32_000n };
    const t = history(e, 20, { agentId: "agt_c", subWalletId: "sub_c", ...caps, amountMinor: 5_000n }, 6 * HOUR, T0 + HOUR);
    const d = e.score(intent({ agentId: "agt_c", subWalletId: "sub_c", merchantId: "mch_shop1", amountMinor: 15_000n, atMs: t, ...caps }));
    expect(codes(d)).to.include.members(["JUST_UNDER_LIMIT", "UNUSUAL_AMOUNT_UNDER_LIMIT"]);
    expect(d.outcome).to.equal("review");
    // the agent's own price (it always pays 50.00) just under a tighter threshold: ordinary
    const near = e.score(intent({ agentId: "agt_c", subWalletId: "sub_c", merchantId: "mch_shop1", amountMinor: 5_000n, atMs: t,
      approvalThresholdMinor: 5_500n }));
    expect(codes(near)).to.include("JUST_UNDER_LIMIT").and.not.include("UNUSUAL_AMOUNT_UNDER_LIMIT");
    expect(near.outcome).to.equal("allow");
    // a price it has never paid, just under the threshold, from an agent that only ever pays one price: asked (2026.5)
    const newPrice = e.score(intent({ agentId: "agt_c", subWalletId: "sub_c", merchantId: "mch_shop1", amountMinor: 5_500n, atMs: t,
      approvalThresholdMinor: 6_000n }));
    expect(codes(newPrice)).to.include("NEW_PRICE_UNDER_LIMIT").and.not.include("UNUSUAL_AMOUNT_UNDER_LIMIT");
    expect(newPrice.outcome).to.equal("review");
  });

  it("category affinity: a category agents like this one never use is off-profile, one they often use is not", () => {
    const e = new RiskEngine({ rules: probe("agent.categoryAffinity") });
    profile(e, "g", ["5411", "5499"], 40);        // grocery agents
    profile(e, "t", ["4511", "7011"], 40);        // travel agents
    profile(e, "a", ["5411", "5812"], 20);        // assistants: groceries and restaurants
    rec(e, intent({ agentId: "agt_x", category: "5411", merchantId: "mch_5411_0", atMs: T0 + DAY }));
    rec(e, intent({ agentId: "agt_x", category: "5499", merchantId: "mch_5499_0", atMs: T0 + DAY }));
    const at = T0 + 2 * DAY;
    expect(value(e.score(intent({ agentId: "agt_x", category: "4511", atMs: at })))).to.equal(0);
    // 5812: every 5411 agent that is an assistant pays there, but no 5499 agent does: the smallest share counts
    expect(value(e.score(intent({ agentId: "agt_x", category: "5812", atMs: at })))).to.equal(0);
    expect(value(e.score(intent({ agentId: "agt_a0", category: "5499", atMs: at })))).to.be.greaterThan(0.5);
    // unknown without evidence: a brand-new agent, or categories fewer than 30 agents use
    expect(value(e.score(intent({ agentId: "agt_nobody", category: "4511", atMs: at })))).to.equal(-1);

    const d = new RiskEngine();
    d.importState({ ...e.exportState(), rules: undefined });
    popular(d, "mch_4511_0", "4511", at);
    const drift = d.score(intent({ agentId: "agt_x", merchantId: "mch_4511_0", category: "4511", amountMinor: 3_000n, atMs: at + 1 }));
    expect(codes(drift)).to.include("OFF_PROFILE_CATEGORY");
    expect(drift.outcome).to.not.equal("allow");
  });

  it("decline memory: after a decline in a category, a new payee there (or a new category of that kind) is flagged", () => {
    const e = new RiskEngine();
    const t = history(e, 12, {}, 6 * HOUR);
    popular(e, "mch_5812_a", "5812", t);
    popular(e, "mch_5812_b", "5812", t);
    popular(e, "mch_5814_a", "5814", t);
    rec(e, intent({ merchantId: "mch_5812_a", category: "5812", amountMinor: 3_000n, atMs: t + HOUR }), "declined");
    const again = e.score(intent({ merchantId: "mch_5812_b", category: "5812", amountMinor: 3_000n, atMs: t + 2 * HOUR }));
    expect(codes(again)).to.include("RECENTLY_DECLINED_HERE");
    expect(again.outcome).to.not.equal("allow");
    const sibling = e.score(intent({ merchantId: "mch_5814_a", category: "5814", amountMinor: 1_500n, atMs: t + 2 * HOUR }));
    expect(codes(sibling)).to.include("RECENTLY_DECLINED_HERE");
    // a day later it is forgotten
    const later = e.score(intent({ merchantId: "mch_5812_b", category: "5812", amountMinor: 3_000n, atMs: t + 26 * HOUR }));
    expect(codes(later)).to.not.include("RECENTLY_DECLINED_HERE");
  });

  it("counts attempts in never-used categories, declined ones included", () => {
    const e = new RiskEngine({ rules: probe("agent.newCategoryAttempts24h") });
    const t = history(e, 5, {}, 8 * HOUR);   // the first payment ever (a new category too) is over a day old
    rec(e, intent({ category: "4829", atMs: t }), "declined");
    rec(e, intent({ category: "4829", atMs: t + 1 }), "declined");
    rec(e, intent({ category: "5411", atMs: t + 2 }));
    expect(value(e.score(intent({ atMs: t + 3 })))).to.equal(2);
    expect(value(e.score(intent({ atMs: t + 2 * DAY })))).to.equal(0);
  });

  it("population priors and category pairs are bounded and survive export / import", () => {
    const e = new RiskEngine({ limits: { maxCategories: 3, maxCategoryPairs: 2 } });
    profile(e, "p", ["5411", "5499", "5812", "4511"], 3);
    const s = e.exportState();
    expect(s.categories.length).to.be.at.most(3);
    expect(s.categoryPairs.reduce((n, [, , pairs]) => n + pairs.length, 0)).to.be.at.most(2);
    const f = new RiskEngine({ limits: { maxCategories: 3, maxCategoryPairs: 2 } });
    f.importState(JSON.parse(JSON.stringify(s)));
    expect(f.exportState()).to.deep.equal(s);
  });
});
