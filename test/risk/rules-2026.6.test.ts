import { expect } from "chai";
import { RiskEngine, compileRuleSet, defaultRuleSet } from "../../src/risk/index.ts";
import { DAY, HOUR, T0, codes, edges, fires, intent, popular, rec } from "./helpers.ts";

describe("risk rules default-2026.6", () => {
  it("its new rule (kept in default-2026.7) asks the person without adding score; five score rules lowered", () => {
    const r = defaultRuleSet.rules.find((x) => x.id === "single-purpose-branching-out")!;
    expect([r.kind, r.score, r.code]).to.deep.equal(["review", 0, "SINGLE_PURPOSE_NEW_KIND"]);
    const scores = Object.fromEntries(defaultRuleSet.rules.map((x) => [x.id, x.score]));
    expect(scores).to.include({
      "several-new-categories": 12, "unproven-merchant": 20, "young-category": 15, "amount-high-wide-category": 15, "daily-outflow": 12,
    });
    expect(() => compileRuleSet(defaultRuleSet)).to.not.throw();
  });

  it("single-purpose-branching-out: threshold edges", () => {
    const base = { "agent.txCount": 2, "agent.groupCount": 1, "agent.groupNew": 1 };
    edges("single-purpose-branching-out", base, [
      { "agent.txCount": 1 }, { "agent.txCount": 10 }, { "agent.groupCount": 2 }, { "agent.groupCount": 0 }, { "agent.groupNew": 0 },
    ]);
    expect(fires("single-purpose-branching-out", { ...base, "agent.categoryCount": 3 })).to.equal(true);   // several categories, one kind
    expect(fires("single-purpose-branching-out", { ...base, "agent.txCount": 9 })).to.equal(true);
  });

  it("lowered rules keep their conditions: edges of unproven-merchant and daily-outflow", () => {
    edges("unproven-merchant", { "agent.merchantNew": 1, "merchant.agentCount": 1 }, [
      { "agent.merchantNew": 0 }, { "merchant.agentCount": 0 }, { "merchant.agentCount": 3 },
    ]);
    edges("daily-outflow", { "agent.dailyRatio": 8, "agent.txCount": 8 }, [{ "agent.dailyRatio": 7.99 }, { "agent.txCount": 7 }]);
  });

  it("scenario: a grocery agent with a few payments, all for groceries, starts paying for taxis: asked", () => {
    const e = new RiskEngine();
    const me = { agentId: "agt_g", subWalletId: "sub_g", grantCreatedAtMs: T0 - 60 * DAY };
    popular(e, "mch_5411_1", "5411", T0);
    popular(e, "mch_4121_1", "4121", T0);
    let t = T0 + HOUR;
    for (let i = 0; i < 3; i++, t += DAY) rec(e, intent({ ...me, merchantId: "mch_5411_1", category: "5411", amountMinor: 7_000n, atMs: t }));
    const taxi = e.score(intent({ ...me, merchantId: "mch_4121_1", category: "4121", amountMinor: 2_500n, atMs: t }));
    expect(codes(taxi)).to.include("SINGLE_PURPOSE_NEW_KIND");
    expect(taxi.outcome).to.equal("review");
    // another grocery-group category (a pharmacy, 5912) is not a different kind of purchase, and once the agent
    // pays there it has still kept to one kind: the taxi is still asked about
    popular(e, "mch_5912_1", "5912", t);
    const pharmacy = e.score(intent({ ...me, merchantId: "mch_5912_1", category: "5912", amountMinor: 2_000n, atMs: t }));
    expect(codes(pharmacy)).to.not.include("SINGLE_PURPOSE_NEW_KIND");
    rec(e, intent({ ...me, merchantId: "mch_5912_1", category: "5912", amountMinor: 2_000n, atMs: t }));
    t += DAY;
    expect(codes(e.score(intent({ ...me, merchantId: "mch_4121_1", category: "4121", amountMinor: 2_500n, atMs: t })))).to.include("SINGLE_PURPOSE_NEW_KIND");
    // an agent with one payment has no purpose yet
    const f = new RiskEngine();
    popular(f, "mch_5411_1", "5411", T0);
    popular(f, "mch_4121_1", "4121", T0);
    rec(f, intent({ ...me, merchantId: "mch_5411_1", category: "5411", amountMinor: 7_000n, atMs: T0 + HOUR }));
    const one = f.score(intent({ ...me, merchantId: "mch_4121_1", category: "4121", amountMinor: 2_500n, atMs: T0 + DAY }));
    expect(codes(one)).to.not.include("SINGLE_PURPOSE_NEW_KIND");
  });
});
