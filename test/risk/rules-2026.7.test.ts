import { expect } from "chai";
import { RiskEngine, compileRuleSet, defaultRuleSet, enableRules, type RuleSet } from "../../src/risk/index.ts";
import { throwsCode } from "../tokens/helpers.ts";
import { DAY, HOUR, T0, codes, edges, fires, intent, popular, rec } from "./helpers.ts";

describe("risk rules default-2026.7", () => {
  it("its optional first-payment rule (kept in 2026.8) is off by default", () => {
    const r = defaultRuleSet.rules.find((x) => x.id === "first-payment")!;
    expect([r.kind, r.score, r.code, r.enabled]).to.deep.equal(["review", 0, "FIRST_PAYMENT", false]);
    const c = compileRuleSet(defaultRuleSet);
    expect([...c.hard, ...c.scored].map((x) => x.id)).to.not.include("first-payment");
    expect(c.hard.length + c.scored.length).to.equal(defaultRuleSet.rules.length - 1);
  });

  it("first-payment: threshold edges (no committed payment in this currency, under a grant a day old or of unknown age)", () => {
    edges("first-payment", { "agent.txCount": 0, "grant.ageMs": DAY }, [{ "agent.txCount": 1 }, { "grant.ageMs": DAY - 1 }, { "grant.ageMs": 0 }]);
    expect(fires("first-payment", { "agent.txCount": 0, "grant.ageMs": -1 })).to.equal(true);
  });

  it("enableRules switches named rules on in a copy whose version says so; the input is unchanged", () => {
    const before = JSON.stringify(defaultRuleSet);
    const on = enableRules(defaultRuleSet, ["first-payment"]);
    expect(on.version).to.equal(`${defaultRuleSet.version}:first-payment`);
    expect(on.rules.find((x) => x.id === "first-payment")!.enabled).to.equal(true);
    expect(JSON.stringify(defaultRuleSet)).to.equal(before);
    const c = compileRuleSet(on);
    expect(c.hard.map((x) => x.id)).to.include("first-payment");
    // a rule that is already on changes nothing, not even the version
    expect(enableRules(on, ["first-payment", "duplicate-payment"]).version).to.equal(`${defaultRuleSet.version}:first-payment`);
    expect(enableRules(defaultRuleSet, ["duplicate-payment"])).to.deep.equal(JSON.parse(before));
  });

  it("enableRules refuses what it cannot do, and changes nothing", () => {
    const before = JSON.stringify(defaultRuleSet);
    throwsCode(() => enableRules(defaultRuleSet, ["no-such-rule"]), "RISK_RULES_INVALID");
    throwsCode(() => enableRules(defaultRuleSet, []), "RISK_RULES_INVALID");
    throwsCode(() => enableRules(defaultRuleSet, [42 as unknown as string]), "RISK_RULES_INVALID");
    throwsCode(() => enableRules({ version: "v1" } as unknown as RuleSet, ["x"]), "RISK_RULES_INVALID");
    // the version that names what was switched on must still fit in 64 characters
    const long = { ...defaultRuleSet, version: "v".repeat(60) };
    throwsCode(() => enableRules(long, ["first-payment"]), "RISK_RULES_INVALID");
    expect(JSON.stringify(defaultRuleSet)).to.equal(before);
  });

  it("switched on: an agent's first payment is asked about, its second is not; a new currency is a first payment again", () => {
    const off = new RiskEngine();
    const on = new RiskEngine({ rules: enableRules(defaultRuleSet, ["first-payment"]) });
    const me = { agentId: "agt_new", subWalletId: "sub_new", grantCreatedAtMs: T0 - 60 * DAY };
    for (const e of [off, on]) popular(e, "mch_5411_1", "5411", T0);
    const first = intent({ ...me, merchantId: "mch_5411_1", category: "5411", amountMinor: 6_000n, atMs: T0 + HOUR });
    expect(off.score(first).outcome).to.equal("allow");
    const d = on.score(first);
    expect([d.outcome, d.score, codes(d), d.ruleSetVersion]).to.deep.equal(["review", 0, ["FIRST_PAYMENT"], `${defaultRuleSet.version}:first-payment`]);
    expect(d.reasons[0]!.message).to.contain("first payment");
    // the person has just set the agent up: a first payment within a day of the grant is expected
    expect(codes(on.score({ ...first, grantCreatedAtMs: T0 }))).to.not.include("FIRST_PAYMENT");
    rec(on, first);
    const second = { ...first, amountMinor: 6_500n, atMs: T0 + DAY };
    expect(codes(on.score(second))).to.not.include("FIRST_PAYMENT");
    // a declined or failed attempt is not a payment: the next one is still the first
    const other = { ...me, agentId: "agt_other", subWalletId: "sub_other" };
    rec(on, intent({ ...other, merchantId: "mch_5411_1", category: "5411", atMs: T0 + HOUR }), "declined");
    rec(on, intent({ ...other, merchantId: "mch_5411_1", category: "5411", atMs: T0 + 2 * HOUR }), "failed");
    expect(codes(on.score(intent({ ...other, merchantId: "mch_5411_1", category: "5411", atMs: T0 + 3 * HOUR })))).to.include("FIRST_PAYMENT");
    // history is kept per currency
    const eur = on.score({ ...second, currency: "EUR" });
    expect(codes(eur)).to.include("FIRST_PAYMENT");
  });
});
