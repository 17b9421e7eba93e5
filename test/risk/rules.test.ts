import { expect } from "chai";
import { isAgentPayError } from "../../src/core/index.ts";
import { RiskEngine, defaultRuleSet, type RuleSet } from "../../src/risk/index.ts";
import { intent } from "./helpers.ts";

const amountRules = (over: Partial<RuleSet> = {}): RuleSet => ({
  version: "t-1",
  thresholds: { review: 50, decline: 100 },
  rules: [
    { id: "a", kind: "score", score: 30, code: "A", when: { feature: "intent.amountMinor", op: ">=", value: 1000 }, message: "amount {intent.amountMinor}" },
    { id: "b", kind: "score", score: 20, code: "B", when: { feature: "intent.amountMinor", op: ">=", value: 2000 }, message: "b" },
    { id: "c", kind: "score", score: 50, code: "C", when: { feature: "intent.amountMinor", op: ">=", value: 3000 }, message: "c" },
  ],
  ...over,
});

function expectInvalid(engine: RiskEngine, set: unknown, pathPart: string): void {
  const before = engine.rules.version;
  try {
    engine.loadRules(set);
    expect.fail("loadRules accepted a bad set");
  } catch (e) {
    expect(isAgentPayError(e, "RISK_RULES_INVALID"), String(e)).to.equal(true);
    expect((e as Error).message).to.contain(pathPart);
  }
  expect(engine.rules.version).to.equal(before);
}

describe("risk rules", () => {
  it("the default rule set is valid and is what a new engine runs", () => {
    const e = new RiskEngine();
    expect(e.rules.version).to.equal(defaultRuleSet.version);
    expect(e.rules).to.deep.equal(JSON.parse(JSON.stringify(defaultRuleSet)));
  });

  it("summed scores map to outcomes at the exact threshold edges", () => {
    const e = new RiskEngine({ rules: amountRules() });
    expect(e.score(intent({ amountMinor: 999n })).outcome).to.equal("allow");
    const at30 = e.score(intent({ amountMinor: 1000n }));
    expect([at30.outcome, at30.score]).to.deep.equal(["allow", 30]);
    const at50 = e.score(intent({ amountMinor: 2000n }));
    expect([at50.outcome, at50.score]).to.deep.equal(["review", 50]);       // score == review → review
    const at100 = e.score(intent({ amountMinor: 3000n }));
    expect([at100.outcome, at100.score]).to.deep.equal(["decline", 100]);   // score == decline → decline
    e.loadRules(amountRules({ thresholds: { review: 51, decline: 101 } }));
    expect(e.score(intent({ amountMinor: 2000n })).outcome).to.equal("allow");
    expect(e.score(intent({ amountMinor: 3000n })).outcome).to.equal("review");
  });

  it("hard rules fix the outcome whatever the score; decline beats review", () => {
    const set: RuleSet = {
      version: "hard-1", thresholds: { review: 50, decline: 100 },
      rules: [
        { id: "r", kind: "review", code: "R", when: { feature: "intent.category", op: "==", value: "7995" }, message: "review" },
        { id: "d", kind: "decline", code: "D", when: { feature: "intent.merchantId", op: "in", value: ["mch_bad"] }, message: "decline" },
        { id: "neg", kind: "score", score: -500, code: "TRUSTED", when: { feature: "intent.amountMinor", op: "<", value: 10_000_000 }, message: "trusted" },
      ],
    };
    const e = new RiskEngine({ rules: set });
    expect(e.score(intent()).outcome).to.equal("allow");
    const r = e.score(intent({ category: "7995" }));
    expect(r.outcome).to.equal("review");
    expect(r.reasons.map((x) => x.code)).to.deep.equal(["R", "TRUSTED"]);
    expect(e.score(intent({ merchantId: "mch_bad" })).outcome).to.equal("decline");
    expect(e.score(intent({ merchantId: "mch_bad", category: "7995" })).outcome).to.equal("decline");
  });

  it("supports all / any / not, ref comparisons, in / notIn and disabled rules", () => {
    const set: RuleSet = {
      version: "ops-1", thresholds: { review: 10, decline: 1000 },
      rules: [
        { id: "combo", kind: "score", score: 10, code: "COMBO", message: "{intent.category} {intent.nearLimitRatio}",
          when: { all: [
            { any: [{ feature: "intent.category", op: "==", value: "5732" }, { feature: "intent.category", op: "==", value: "5999" }] },
            { not: { feature: "intent.currency", op: "notIn", value: ["USD", "EUR"] } },
            { feature: "intent.amountMinor", op: ">", ref: "intent.nearLimitRatio", times: 1000 },
          ] } },
        { id: "off", kind: "decline", code: "OFF", enabled: false, when: { feature: "intent.amountMinor", op: ">=", value: 0 }, message: "never" },
      ],
    };
    const e = new RiskEngine({ rules: set });
    const d = e.score(intent({ category: "5732", amountMinor: 900n, approvalThresholdMinor: 2000n }));
    expect(d.outcome).to.equal("review");                  // 900 > 0.45 * 1000
    expect(d.reasons[0]!.message).to.equal("5732 0.45");
    expect(e.score(intent({ category: "5411" })).outcome).to.equal("allow");
    expect(e.score(intent({ category: "5732", currency: "JPY" })).outcome).to.equal("allow");
    expect(e.score(intent({ category: "5999", amountMinor: 500n, approvalThresholdMinor: 500n })).outcome).to.equal("allow"); // 500 > 1000 is false
  });

  it("refuses bad rule sets with a clear error and keeps the old set", () => {
    const e = new RiskEngine({ rules: amountRules() });
    const ok = amountRules();
    const rule = ok.rules[0]!;
    expectInvalid(e, null, "$");
    expectInvalid(e, "rules", "$");
    expectInvalid(e, { ...ok, version: "" }, "$.version");
    expectInvalid(e, { ...ok, version: "has space" }, "$.version");
    expectInvalid(e, { ...ok, thresholds: { review: 100, decline: 50 } }, "$.thresholds");
    expectInvalid(e, { ...ok, thresholds: { review: 0, decline: 50 } }, "$.thresholds");
    expectInvalid(e, { ...ok, thresholds: { review: "50", decline: 100 } }, "$.thresholds.review");
    expectInvalid(e, { ...ok, rules: {} }, "$.rules");
    expectInvalid(e, { ...ok, extra: 1 }, "unknown field");
    expectInvalid(e, { ...ok, rules: [rule, rule] }, "duplicate rule id");
    expectInvalid(e, { ...ok, rules: [{ ...rule, id: "Bad Id" }] }, "$.rules[0].id");
    expectInvalid(e, { ...ok, rules: [{ ...rule, kind: "maybe" }] }, "$.rules[0].kind");
    expectInvalid(e, { ...ok, rules: [{ ...rule, score: undefined }] }, "$.rules[0].score");
    expectInvalid(e, { ...ok, rules: [{ ...rule, score: Number.NaN }] }, "$.rules[0].score");
    expectInvalid(e, { ...ok, rules: [{ ...rule, code: "lower" }] }, "$.rules[0].code");
    expectInvalid(e, { ...ok, rules: [{ ...rule, message: "" }] }, "$.rules[0].message");
    expectInvalid(e, { ...ok, rules: [{ ...rule, message: "{agent.nope}" }] }, "$.rules[0].message");
    expectInvalid(e, { ...ok, rules: [{ ...rule, when: { feature: "agent.nope", op: ">", value: 1 } }] }, "unknown feature");
    expectInvalid(e, { ...ok, rules: [{ ...rule, when: { feature: "intent.amountMinor", op: "~", value: 1 } }] }, "unknown operator");
    expectInvalid(e, { ...ok, rules: [{ ...rule, when: { feature: "intent.amountMinor", op: ">", value: "1" } }] }, "finite number");
    expectInvalid(e, { ...ok, rules: [{ ...rule, when: { feature: "intent.category", op: ">", value: "1" } }] }, "string features");
    expectInvalid(e, { ...ok, rules: [{ ...rule, when: { feature: "intent.category", op: "in", value: [] } }] }, "list");
    expectInvalid(e, { ...ok, rules: [{ ...rule, when: { feature: "intent.amountMinor", op: ">", ref: "agent.nope" } }] }, "$.rules[0].when.ref");
    expectInvalid(e, { ...ok, rules: [{ ...rule, when: { all: [] } }] }, "$.rules[0].when.all");
    let deep: unknown = { feature: "intent.amountMinor", op: ">", value: 1 };
    for (let i = 0; i < 12; i++) deep = { not: deep };
    expectInvalid(e, { ...ok, rules: [{ ...rule, when: deep }] }, "deeper");
    // the old set still decides
    expect(e.score(intent({ amountMinor: 3000n })).outcome).to.equal("decline");
  });

  it("a loaded set is copied: changing the caller's object later changes nothing", () => {
    const set = amountRules();
    const e = new RiskEngine();
    e.loadRules(set);
    set.version = "mutated";
    set.rules[2]!.score = 0;
    expect(e.rules.version).to.equal("t-1");
    expect(e.score(intent({ amountMinor: 3000n })).outcome).to.equal("decline");
    const copy = e.rules;
    copy.version = "x";
    expect(e.rules.version).to.equal("t-1");
  });
});
