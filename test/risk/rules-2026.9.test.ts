import { expect } from "chai";
import { RiskEngine, compileRuleSet, defaultRuleSet } from "../../src/risk/index.ts";
import { DAY, HOUR, MIN, T0, codes, edges, fires, intent, popular, rec } from "./helpers.ts";

const NEW = ["at-limit-new-high", "at-limit-above-both", "far-below-both"];

describe("risk rules default-2026.9", () => {
  it("is the default set: 2026.8's rules plus three that ask the person without adding score", () => {
    expect(defaultRuleSet.version).to.equal("default-2026.9");
    expect(defaultRuleSet.rules).to.have.length(51);
    for (const id of NEW) {
      const r = defaultRuleSet.rules.find((x) => x.id === id)!;
      expect([r.kind, r.score, r.enabled], id).to.deep.equal(["review", 0, undefined]);
    }
    expect(compileRuleSet(defaultRuleSet).hard.map((r) => r.id)).to.include.members(NEW);
  });

  it("at-limit-new-high: threshold edges", () => {
    const base = { "intent.nearLimitRatio": 0.9, "agent.maxRatio": 2 };
    edges("at-limit-new-high", base, [{ "intent.nearLimitRatio": 0.89 }, { "intent.nearLimitRatio": 1.01 }, { "agent.maxRatio": 1.99 }]);
    expect(fires("at-limit-new-high", { ...base, "intent.nearLimitRatio": 1 })).to.equal(true);
  });

  it("at-limit-above-both: threshold edges", () => {
    const base = { "intent.nearLimitRatio": 0.93, "amount.priorRatio": 2.5, "amount.popRatio": 2.5 };
    edges("at-limit-above-both", base, [
      { "intent.nearLimitRatio": 0.92 }, { "intent.nearLimitRatio": 1.01 }, { "amount.priorRatio": 2.49 }, { "amount.popRatio": 2.49 },
    ]);
    expect(fires("at-limit-above-both", { ...base, "intent.nearLimitRatio": 1 })).to.equal(true);
  });

  it("far-below-both: threshold edges", () => {
    edges("far-below-both", { "amount.priorZ": -3, "amount.popRatio": 0.25 }, [{ "amount.priorZ": -2.99 }, { "amount.popRatio": 0.26 }]);
  });

  it("scenario: a $5 payment to a donation site from an agent that gives $40 at a time, among agents that give $50: asked about", () => {
    const e = new RiskEngine();
    popular(e, "mch_8398_1", "8398", T0, 40);   // everyone's usual: $50
    const me = { agentId: "agt_c", subWalletId: "sub_c", grantCreatedAtMs: T0 - 60 * DAY, category: "8398" };
    let t = T0 + HOUR;
    for (let i = 0; i < 8; i++, t += DAY) rec(e, intent({ ...me, merchantId: "mch_8398_1", amountMinor: 4_000n + BigInt(i * 100), atMs: t }));
    expect(e.score(intent({ ...me, merchantId: "mch_8398_1", amountMinor: 3_000n, atMs: t })).outcome).to.equal("allow");
    const probe = e.score(intent({ ...me, merchantId: "mch_8398_1", amountMinor: 500n, atMs: t }));
    expect(codes(probe)).to.include("FAR_BELOW_AGENT_AND_CATEGORY");
    expect(probe.outcome).to.equal("review");
  });

  it("scenario: right under the person's limit at twice the agent's highest, or at several times both usuals: asked about", () => {
    const e = new RiskEngine();
    popular(e, "mch_5732_1", "5732", T0, 40);   // everyone's usual in electronics: $50
    const me = { agentId: "agt_e", subWalletId: "sub_e", grantCreatedAtMs: T0 - 60 * DAY, category: "5732", merchantId: "mch_5732_1" };
    let t = T0 + HOUR;
    for (let i = 0; i < 10; i++, t += DAY) rec(e, intent({ ...me, amountMinor: 3_000n + BigInt((i % 4) * 500), atMs: t }));
    // the agent's highest is $45; with a $200 threshold a $185 payment is at the limit and four times the highest
    const atLimit = intent({ ...me, amountMinor: 18_500n, atMs: t, approvalThresholdMinor: 20_000n });
    const d = e.score(atLimit);
    expect(codes(d)).to.include("AT_LIMIT_FAR_ABOVE_HIGHEST");
    expect(d.outcome).to.equal("review");
    // the same amount with a higher threshold is not at the limit
    expect(codes(e.score({ ...atLimit, approvalThresholdMinor: 40_000n }))).to.not.include("AT_LIMIT_FAR_ABOVE_HIGHEST");
    // after two $100 payments, $190 under a $200 threshold is under twice the highest, but ~3.8x everyone's usual
    // and ~4x the agent's (its history blended with everyone's)
    for (let i = 0; i < 2; i++) rec(e, intent({ ...me, amountMinor: 10_000n, atMs: t + i * MIN }));
    const pressed = e.score(intent({ ...me, amountMinor: 19_000n, atMs: t + 10 * MIN, approvalThresholdMinor: 20_000n }));
    expect(codes(pressed)).to.include("AT_LIMIT_ABOVE_AGENT_AND_CATEGORY");
    expect(codes(pressed)).to.not.include("AT_LIMIT_FAR_ABOVE_HIGHEST");
    expect(pressed.outcome).to.equal("review");
    // at 90% of a $211 threshold it is not pressed against it
    expect(codes(e.score(intent({ ...me, amountMinor: 19_000n, atMs: t + 10 * MIN, approvalThresholdMinor: 21_100n })))).to.not.include("AT_LIMIT_ABOVE_AGENT_AND_CATEGORY");
  });

  it("scenario: an agent that once paid $400 usually pays $50, as everyone does: $400 again is asked about", () => {
    const e = new RiskEngine();
    popular(e, "mch_5411_1", "5411", T0, 40);
    const me = { agentId: "agt_o", subWalletId: "sub_o", grantCreatedAtMs: T0 - 60 * DAY, category: "5411", merchantId: "mch_5411_1" };
    let t = T0 + HOUR;
    rec(e, intent({ ...me, amountMinor: 40_000n, atMs: t }));
    for (let i = 0; i < 30; i++) rec(e, intent({ ...me, amountMinor: 5_000n + BigInt((i % 5) * 100), atMs: (t += DAY) }));
    const d = e.score(intent({ ...me, amountMinor: 40_000n, atMs: t + DAY }));
    expect(codes(d)).to.include("FAR_ABOVE_AGENT_AND_CATEGORY");
    expect(d.outcome).to.equal("review");
  });
});
