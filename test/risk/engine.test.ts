import { expect } from "chai";
import { isAgentPayError } from "../../src/core/index.ts";
import { RiskEngine, type RiskDecision, type RuleSet } from "../../src/risk/index.ts";
import { DAY, HOUR, MIN, T0, history, intent, popular, rec } from "./helpers.ts";

const codes = (d: RiskDecision) => d.reasons.map((r) => r.code);
/** Whether the probe rule fired (the drain breaker may add its own reasons in busy tests). */
const fires = (d: RiskDecision) => d.reasons.some((r) => r.ruleId === "p");

/** A rule set with one rule per feature threshold, to observe features from the outside. */
function probe(feature: string, value: number): RuleSet {
  return { version: "probe-1", thresholds: { review: 1, decline: 1000 },
    rules: [{ id: "p", kind: "score", score: 1, code: "P", when: { feature, op: ">=", value }, message: `{${feature}}` }] };
}

describe("risk engine", () => {
  it("returns a decision record: outcome, summed score, reasons with rule ids, rule-set version", () => {
    const e = new RiskEngine();
    const t = history(e, 10);
    const d = e.score(intent({ merchantId: "mch_never", category: "6051", amountMinor: 900_000n, atMs: t }));
    expect(d.ruleSetVersion).to.equal("default-2026.9");
    expect(d.outcome).to.equal("decline");
    expect(d.score).to.equal(d.reasons.reduce((s, r) => s + r.score, 0));
    for (const r of d.reasons) {
      expect(r.code).to.match(/^[A-Z_]+$/);
      expect(r.ruleId).to.be.a("string").and.not.empty;
      expect(r.message).to.be.a("string").and.not.contain("{");
    }
    expect(codes(d)).to.include.members(["CASH_LIKE_NEW_CATEGORY", "UNKNOWN_MERCHANT", "AMOUNT_SPIKE", "NEW_CATEGORY_GROUP"]);
    const ok = e.score(intent({ merchantId: "mch_shop1", amountMinor: 4_500n, atMs: t }));
    expect([ok.outcome, ok.reasons]).to.deep.equal(["allow", []]);
  });

  it("score is pure: scoring does not change features", () => {
    const e = new RiskEngine({ rules: probe("agent.count1h", 1) });
    const it = intent();
    for (let i = 0; i < 50; i++) expect(e.score(it).outcome).to.equal("allow");
    rec(e, it);
    expect(e.score({ ...it, atMs: T0 + 1000 }).outcome).to.equal("review");
  });

  it("velocity windows count committed payments over 1 min / 1 h / 24 h and forget them after", () => {
    const e = new RiskEngine({ rules: probe("agent.count1m", 3) });
    for (let i = 0; i < 3; i++) rec(e, intent({ atMs: T0 + i * 1000 }));
    expect(e.score(intent({ atMs: T0 + 5_000 })).outcome).to.equal("review");
    expect(e.score(intent({ atMs: T0 + 2 * MIN })).outcome).to.equal("allow");
    e.loadRules(probe("agent.amount1h", 15_000));
    expect(e.score(intent({ atMs: T0 + 30 * MIN })).outcome).to.equal("review");
    expect(e.score(intent({ atMs: T0 + 61 * MIN })).outcome).to.equal("allow");
    e.loadRules(probe("subWallet.count24h", 3));
    expect(e.score(intent({ atMs: T0 + 20 * HOUR })).outcome).to.equal("review");
    expect(e.score(intent({ atMs: T0 + 25 * HOUR })).outcome).to.equal("allow");
    // declines and failures are attempts, not committed payments
    e.loadRules(probe("agent.count1m", 1));
    rec(e, intent({ agentId: "agt_b", atMs: T0 + DAY }), "declined");
    rec(e, intent({ agentId: "agt_b", atMs: T0 + DAY }), "failed");
    expect(e.score(intent({ agentId: "agt_b", atMs: T0 + DAY + 1 })).outcome).to.equal("allow");
    e.loadRules(probe("agent.attempts1m", 2));
    expect(e.score(intent({ agentId: "agt_b", atMs: T0 + DAY + 1 })).outcome).to.equal("review");
  });

  it("uses the intent's time, never the wall clock", () => {
    const e = new RiskEngine({ rules: probe("agent.count24h", 1) });
    const far = Date.UTC(2031, 5, 1);
    rec(e, intent({ atMs: far }));
    expect(e.score(intent({ atMs: far + HOUR })).outcome).to.equal("review");
    expect(e.score(intent({ atMs: far + 2 * DAY })).outcome).to.equal("allow");
  });

  it("runaway loop: the same merchant and amount again within minutes goes to review", () => {
    const e = new RiskEngine();
    const t = history(e, 10);
    const it = intent({ merchantId: "mch_shop1", amountMinor: 4_321n, atMs: t });
    expect(e.score(it).outcome).to.equal("allow");
    rec(e, it);
    const again = e.score({ ...it, atMs: t + 30_000 });
    expect(again.outcome).to.equal("review");
    expect(codes(again)).to.include("DUPLICATE_PAYMENT");
    expect(e.score({ ...it, atMs: t + 11 * MIN }).outcome).to.equal("allow");
    expect(e.score({ ...it, amountMinor: 4_322n, atMs: t + 30_000 }).outcome).to.equal("allow");
  });

  it("attempt floods and card-testing bursts are declined", () => {
    const e = new RiskEngine();
    let t = history(e, 10);
    for (let i = 0; i < 10; i++) rec(e, intent({ merchantId: `mch_x${i}`, category: "8398", amountMinor: 99n, atMs: (t += 2_000) }), "declined");
    const d = e.score(intent({ merchantId: "mch_y", category: "8398", amountMinor: 101n, atMs: t + 1_000 }));
    expect(d.outcome).to.equal("decline");
    expect(codes(d)).to.include.members(["ATTEMPT_FLOOD", "VELOCITY_MINUTE", "REPEATED_DECLINES"]);
  });

  it("scope drift: a new kind of category is flagged, a related one less so", () => {
    const e = new RiskEngine();
    const t = history(e, 12);
    popular(e, "mch_air", "4511", t);
    popular(e, "mch_deli", "5499", t);
    const drift = e.score(intent({ merchantId: "mch_air", category: "4511", amountMinor: 5_000n, atMs: t + 1 }));
    expect(codes(drift)).to.include.members(["NEW_CATEGORY_GROUP", "NEW_MERCHANT"]);
    expect(drift.outcome).to.equal("review");
    const related = e.score(intent({ merchantId: "mch_deli", category: "5499", amountMinor: 5_000n, atMs: t + 1 }));
    expect(codes(related)).to.include("NEW_CATEGORY").and.not.include("NEW_CATEGORY_GROUP");
    expect(related.score).to.be.lessThan(drift.score);
  });

  it("payee swap: a merchant no agent has ever paid goes to review", () => {
    const e = new RiskEngine();
    const t = history(e, 12);
    const d = e.score(intent({ merchantId: "mch_sh0p1", amountMinor: 4_500n, atMs: t }));
    expect(codes(d)).to.include("UNKNOWN_MERCHANT");
    expect(d.outcome).to.equal("review");
  });

  it("amount spike against the agent's own history", () => {
    const e = new RiskEngine();
    const t = history(e, 20);
    const d = e.score(intent({ merchantId: "mch_shop1", amountMinor: 400_000n, atMs: t }));
    // amount tiers do not stack: the strongest (against the agent's history and the population prior) fires
    expect(codes(d)).to.include("AMOUNT_SPIKE").and.not.include("AMOUNT_FAR_OVER_MAX");
    expect(d.outcome).to.not.equal("allow");
    expect(e.score(intent({ merchantId: "mch_shop1", amountMinor: 5_500n, atMs: t })).outcome).to.equal("allow");
  });

  it("slow drain: unusual amounts just under the approval threshold", () => {
    const e = new RiskEngine();
    const t = history(e, 20, { approvalThresholdMinor: 20_000n });
    const d = e.score(intent({ merchantId: "mch_shop1", amountMinor: 19_500n, approvalThresholdMinor: 20_000n, atMs: t }));
    expect(codes(d)).to.include.members(["JUST_UNDER_LIMIT", "UNUSUAL_AMOUNT_UNDER_LIMIT"]);
  });

  it("fresh grant and new agent: large first payments are flagged", () => {
    const e = new RiskEngine();
    const d = e.score(intent({ agentId: "agt_new", amountMinor: 90_000n, grantCreatedAtMs: T0 - 5 * MIN, approvalThresholdMinor: 100_000n }));
    expect(codes(d)).to.include.members(["LARGE_FROM_NEW_AGENT", "FRESH_GRANT_LARGE"]);
    expect(d.outcome).to.not.equal("allow");
  });

  it("keeps features per currency for the same agent", () => {
    const e = new RiskEngine({ rules: probe("agent.txCount", 1) });
    rec(e, intent({ currency: "USD" }));
    expect(e.score(intent({ currency: "USD", atMs: T0 + 1 })).outcome).to.equal("review");
    expect(e.score(intent({ currency: "EUR", atMs: T0 + 1 })).outcome).to.equal("allow");
  });

  it("refuses malformed intents and events with INVALID_INPUT and changes nothing", () => {
    const e = new RiskEngine();
    const bad: unknown[] = [
      { ...intent(), amountMinor: 10 }, { ...intent(), amountMinor: -1n }, { ...intent(), agentId: "" },
      { ...intent(), atMs: Number.NaN }, { ...intent(), approvalThresholdMinor: 5 }, null,
    ];
    for (const b of bad) {
      expect(() => e.score(b as never)).to.throw().that.satisfies((x: unknown) => isAgentPayError(x, "INVALID_INPUT"));
    }
    expect(() => e.record({ ...intent(), kind: "stolen" } as never)).to.throw().that.satisfies((x: unknown) => isAgentPayError(x, "INVALID_INPUT"));
    expect(e.stats().agents).to.equal(0);
  });

  it("memory is bounded: least recently active agents are forgotten", () => {
    const e = new RiskEngine({ limits: { maxAgents: 10, maxSubWallets: 10, maxMerchants: 20, maxMerchantsPerAgent: 4 } });
    for (let i = 0; i < 100; i++) {
      rec(e, intent({ agentId: `agt_${i}`, subWalletId: `sub_${i}`, merchantId: `mch_${i}`, atMs: T0 + i }));
      rec(e, intent({ agentId: "agt_keep", subWalletId: "sub_keep", merchantId: `mch_k${i}`, atMs: T0 + i }));
    }
    const s = e.stats();
    expect(s.agents).to.be.at.most(10);
    expect(s.subWallets).to.be.at.most(10);
    expect(s.merchants).to.be.at.most(20);
    expect(s.evictions).to.be.greaterThan(0);
    e.loadRules(probe("agent.merchantCount", 5));
    expect(fires(e.score(intent({ agentId: "agt_keep", atMs: T0 + 200 })))).to.equal(false); // capped at 4
    e.loadRules(probe("agent.merchantCount", 4));
    expect(fires(e.score(intent({ agentId: "agt_keep", atMs: T0 + 200 })))).to.equal(true);
    e.loadRules(probe("agent.txCount", 100));
    expect(fires(e.score(intent({ agentId: "agt_keep", atMs: T0 + 200 })))).to.equal(true); // still remembered
    expect(fires(e.score(intent({ agentId: "agt_0", atMs: T0 + 200 })))).to.equal(false);   // forgotten
  });

  it("exportState / importState round-trips through JSON and gives the same decisions", () => {
    const a = new RiskEngine();
    let t = history(a, 30);
    for (let i = 0; i < 5; i++) rec(a, intent({ agentId: "agt_z", merchantId: "mch_q", atMs: (t += MIN) }), i % 2 ? "declined" : "failed");
    a.loadRules({ ...JSON.parse(JSON.stringify(a.rules)), version: "custom-7" });
    const json = JSON.stringify(a.exportState());
    const b = new RiskEngine();
    b.importState(JSON.parse(json));
    expect(b.rules.version).to.equal("custom-7");
    const probes = [
      intent({ merchantId: "mch_shop1", amountMinor: 4_321n, atMs: t + 1 }),
      intent({ merchantId: "mch_shop1", amountMinor: 400_000n, atMs: t + 2 }),
      intent({ merchantId: "mch_new", category: "6051", atMs: t + 3 }),
      intent({ agentId: "agt_z", merchantId: "mch_q", atMs: t + 4 }),
      intent({ atMs: t + 2 * DAY }),
    ];
    for (const p of probes) expect(b.score(p)).to.deep.equal(a.score(p));
    expect(JSON.stringify(b.exportState())).to.equal(json);
    // both keep learning the same way
    rec(a, probes[0]!);
    rec(b, probes[0]!);
    const again = { ...probes[0]!, atMs: t + 10 };
    expect(b.score(again)).to.deep.equal(a.score(again));
  });

  it("a malformed state is refused with RISK_STATE_INVALID and nothing changes", () => {
    const e = new RiskEngine();
    const t = history(e, 10);
    const good = e.exportState();
    const before = JSON.stringify(good);
    const broken = [
      null, {}, { ...good, format: "v0" }, { ...good, agents: "x" },
      { ...good, agents: [["k", { ...(good.agents[0]![1] as object), n: "many" }]] },
      { ...good, globals: [["USD", { ...(good.globals[0]![1] as object), baseSum: [1, 2] }]] },
    ];
    for (const s of broken) {
      expect(() => e.importState(s)).to.throw().that.satisfies((x: unknown) => isAgentPayError(x, "RISK_STATE_INVALID"));
    }
    expect(() => e.importState({ ...good, rules: { version: "x" } })).to.throw().that.satisfies((x: unknown) => isAgentPayError(x, "RISK_RULES_INVALID"));
    expect(JSON.stringify(e.exportState())).to.equal(before);
    expect(e.score(intent({ merchantId: "mch_shop1", atMs: t })).outcome).to.equal("allow");
  });
});
