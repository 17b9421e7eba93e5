import { expect } from "chai";
import { defaultRuleSet, enableRules } from "../../src/index.ts";
import type { RuleSet } from "../../src/index.ts";
import { decodeJson, encodeJson } from "../../src/core/index.ts";
import { RISK_SEQ_KEY } from "../../src/risk/index.ts";
import { rejectsWith } from "../ledger/helpers.ts";
import { usd, world } from "./helpers.ts";

/** A small rule set: decline above $90 at one merchant category, review a first payment to a new merchant above $40. */
const rules: RuleSet = {
  version: "test-1",
  thresholds: { review: 50, decline: 100 },
  rules: [
    { id: "big-airfare", kind: "decline", code: "BIG_AIRFARE", message: "airfare of {intent.amountMinor} is above what this agent pays",
      when: { all: [{ feature: "intent.category", op: "==", value: "4511" }, { feature: "intent.amountMinor", op: ">", value: 9000 }] } },
    { id: "big-hotel", kind: "score", score: 60, code: "BIG_HOTEL", message: "a large hotel bill",
      when: { all: [{ feature: "intent.category", op: "==", value: "7011" }, { feature: "intent.amountMinor", op: ">", value: 4000 }] } },
  ],
} as unknown as RuleSet;

describe("payments with the risk engine plugged in", () => {
  it("a payment the risk engine declines moves no money and reports its reasons and rule-set version", async () => {
    const w = await world({ risk: { rules } });
    const { pay, client, travel } = w;
    const before = { sw: pay.wallets.balance(travel.id), records: pay.engine.stats.records };
    const err = await rejectsWith(client.requestPayment({ subWalletId: travel.id, merchantId: w.air.merchant.id, amount: usd("95.00") }), "PAYMENT_DECLINED");
    const details = err.details as { reasons: Array<{ code: string; message: string }>; risk: { outcome: string; ruleSetVersion: string } };
    expect(details.reasons.map((r) => r.code)).to.deep.equal(["BIG_AIRFARE"]);
    expect(details.reasons[0]!.message).to.contain("9500");
    expect(details.risk).to.include({ outcome: "decline", ruleSetVersion: "test-1" });
    expect(pay.wallets.balance(travel.id)).to.deep.equal(before.sw);
    expect(pay.ledger.check().ok).to.equal(true);
    // The decline is recorded (with its decision), nothing else.
    const declined = pay.payments.list({ subWalletId: travel.id });
    expect(declined).to.have.length(1);
    expect(declined[0]!.status).to.equal("declined");
    expect(declined[0]!.decision.risk.reasons.map((r) => r.code)).to.deep.equal(["BIG_AIRFARE"]);
  });

  it("a risk review becomes an approval request; approving it issues the token", async () => {
    const w = await world({ risk: { rules } });
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.hotel.merchant.id, amount: usd("45.00") });
    expect(r.status).to.equal("pending_approval");
    if (r.status !== "pending_approval") throw new Error("unreachable");
    expect(r.decision.risk.reasons.map((x) => x.code)).to.deep.equal(["BIG_HOTEL"]);
    const approval = w.pay.approvals.get(r.approvalId);
    expect(approval.reasons.map((x) => x.code)).to.deep.equal(["BIG_HOTEL"]);
    const res = await w.pay.approvals.approve(r.approvalId);
    expect(res.result!.status).to.equal("approved");
    expect(w.pay.wallets.balance(w.travel.id).pendingDebitsMinor).to.equal(4500n);
  });

  it("the default rule set is in force and explains what it flags", async () => {
    const w = await world({ risk: {} });
    expect(w.pay.risk!.rules.version).to.equal(defaultRuleSet.version);
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("25.00") });
    expect(r.decision.risk.ruleSetVersion).to.equal(defaultRuleSet.version);
    if (r.status === "pending_approval") expect(r.decision.risk.reasons.length).to.be.greaterThan(0);
  });

  it("with the optional first-payment rule on, an agent's first payment waits for the person; its next one does not", async () => {
    const w = await world({ risk: { rules: enableRules(defaultRuleSet, ["first-payment"]) } });
    // the world's own agent pays within minutes of its grant, as a person setting it up expects: not asked
    const fresh = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.hotel.merchant.id, amount: usd("20.00") });
    expect(fresh.decision.risk.reasons.map((x) => x.code)).to.not.include("FIRST_PAYMENT");
    // an agent whose grant has gone unused for two days
    const { agent, privateKeyJwk } = await w.pay.agents.register({ name: "dormant" });
    await w.pay.grants.create({ subWalletId: w.travel.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
    w.clock.advance(2 * 86_400_000);
    const client = w.pay.agentClient({ agentId: agent.id, privateKeyJwk: privateKeyJwk! });
    const before = w.pay.wallets.balance(w.travel.id);
    const r = await client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("25.00") });
    if (r.status !== "pending_approval") throw new Error(`expected a review, got ${r.status}`);
    expect(r.decision.risk.reasons.map((x) => x.code)).to.include("FIRST_PAYMENT");
    expect(r.decision.risk.ruleSetVersion).to.equal(`${defaultRuleSet.version}:first-payment`);
    expect(w.pay.wallets.balance(w.travel.id)).to.deep.equal(before);   // nothing held until the person says yes
    const res = await w.pay.approvals.approve(r.approvalId, { by: "alice" });
    expect(res.result!.status).to.equal("approved");
    w.clock.advance(3_600_000);
    const next = await client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("26.00") });
    expect(next.decision.risk.reasons.map((x) => x.code)).to.not.include("FIRST_PAYMENT");
  });

  it("risk features survive a restart: they are rebuilt from the committed payments", async () => {
    const w = await world({ risk: {} });
    for (let i = 0; i < 3; i++) {
      const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd(`${10 + i}.00`) });
      const token = r.status === "approved" ? r.token
        : r.status === "pending_approval" ? ((await w.pay.approvals.approve(r.approvalId)).result!.token) : undefined;
      w.clock.advance(60_000);
      const receipt = await w.pay.payments.redeem({ token: token!, merchantId: w.air.merchant.id, amount: usd("9.00"), idempotencyKey: `c${i}` });
      w.clock.advance(60_000);
      await w.pay.payments.refund({ paymentId: receipt.paymentId, merchantId: w.air.merchant.id, amount: usd("1.00"), idempotencyKey: `r${i}` });
    }
    const before = JSON.stringify(w.pay.risk!.exportState(), (_k, v) => (typeof v === "bigint" ? `${v}` : v));
    await w.pay.close();
    const { AgentPay } = await import("../../src/index.ts");
    const again = await AgentPay.open({ store: w.store, clock: w.clock, delivery: false, background: false, risk: {} });
    const after = JSON.stringify(again.risk!.exportState(), (_k, v) => (typeof v === "bigint" ? `${v}` : v));
    expect(after).to.equal(before);
    await again.close();

    // A store written before payments carried their place in the order (no `seq`): replayed by time, which
    // for these payments (no two changes in one millisecond, no denials) is the order they were made in.
    const legacy: Array<{ type: "put" | "del"; key: string; value?: string }> = [];
    for await (const [key, text] of w.store.entries()) {
      if (key === RISK_SEQ_KEY) legacy.push({ type: "del", key });
      if (!key.startsWith("pm/") && !key.startsWith("rf/")) continue;
      const { seq: _seq, ...old } = decodeJson(text) as Record<string, unknown>;
      expect(_seq).to.not.equal(undefined);
      legacy.push({ type: "put", key, value: encodeJson(old) });
    }
    await w.store.write(legacy as Parameters<typeof w.store.write>[0]);
    const old = await AgentPay.open({ store: w.store, clock: w.clock, delivery: false, background: false, risk: {} });
    expect(JSON.stringify(old.risk!.exportState(), (_k, v) => (typeof v === "bigint" ? `${v}` : v))).to.equal(before);
    await old.close();
  });

  it("above the approval threshold a score decline goes to the person with its reasons; below it, or by a hard rule, it declines", async () => {
    // hotel bills score 60 above $40 and 60 more above $90 (a score decline); airfare above $90 is a hard decline;
    // two declines in the last hour score 120 (a known-legitimate payment after two earlier declines)
    const scored: RuleSet = {
      version: "test-combine", thresholds: { review: 50, decline: 100 },
      rules: [
        ...rules.rules,
        { id: "huge-hotel", kind: "score", score: 60, code: "HUGE_HOTEL", message: "a very large hotel bill",
          when: { all: [{ feature: "intent.category", op: "==", value: "7011" }, { feature: "intent.amountMinor", op: ">", value: 9000 }] } },
        { id: "declines", kind: "score", score: 120, code: "RECENT_DECLINES", message: "{agent.declines1h} declines in the last hour",
          when: { feature: "agent.declines1h", op: ">=", value: 2 } },
      ],
    } as unknown as RuleSet;
    const w = await world({ risk: { rules: scored } });
    const { pay, client, travel } = w;
    const req = (merchant: string, amount: string) => client.requestPayment({ subWalletId: travel.id, merchantId: merchant, amount: usd(amount) });

    // below the person's threshold ($100): nobody would be asked, so the engine's score decline stands
    const below = await rejectsWith(req(w.hotel.merchant.id, "95.00"), "PAYMENT_DECLINED");
    expect((below.details as { risk: { outcome: string } }).risk.outcome).to.equal("decline");
    // above it, a hard rule declines: not the person's to overrule
    const hard = await rejectsWith(req(w.air.merchant.id, "120.00"), "PAYMENT_DECLINED");
    expect((hard.details as { reasons: Array<{ code: string }> }).reasons.map((r) => r.code)).to.deep.equal(["APPROVAL_THRESHOLD", "BIG_AIRFARE"]);
    w.clock.advance(60_000);

    // above it, the score decline (two declines in the last hour, a large hotel bill) goes to the person
    const before = pay.wallets.balance(travel.id);
    const r = await req(w.hotel.merchant.id, "120.00");
    if (r.status !== "pending_approval") throw new Error(`expected the person to be asked, got ${r.status}`);
    expect(r.decision.outcome).to.equal("review");
    expect(r.decision.risk).to.include({ outcome: "decline", hard: false });
    const reasons = ["APPROVAL_THRESHOLD", "BIG_HOTEL", "HUGE_HOTEL", "RECENT_DECLINES"];
    expect([...r.decision.policy.reasons, ...r.decision.risk.reasons].map((x) => x.code)).to.deep.equal(reasons);
    expect(pay.approvals.get(r.approvalId).reasons.map((x) => x.code)).to.deep.equal(reasons);
    expect(pay.wallets.balance(travel.id)).to.deep.equal(before);   // nothing held until the person says yes
    const res = await pay.approvals.approve(r.approvalId, { by: "alice" });
    expect(res.result!.status).to.equal("approved");
    expect(pay.wallets.balance(travel.id).pendingDebitsMinor).to.equal(12000n);
  });

  it("a person's denial teaches the risk engine a decline, and it is remembered across a restart", async () => {
    const denials: RuleSet = {
      version: "test-denials", thresholds: { review: 50, decline: 100 },
      rules: [{ id: "declined-here", kind: "review", code: "DECLINED_HERE", message: "declined here lately",
        when: { feature: "agent.categoryDeclines24h", op: ">=", value: 1 } }],
    } as unknown as RuleSet;
    const w = await world({ risk: { rules: denials } });
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.hotel.merchant.id, amount: usd("120.00") });
    if (r.status !== "pending_approval") throw new Error(`expected the person to be asked, got ${r.status}`);
    expect(r.decision.risk.reasons).to.deep.equal([]);
    await w.pay.approvals.deny(r.approvalId, { by: "alice" });
    w.clock.advance(60_000);
    const next = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.hotel.merchant.id, amount: usd("20.00") });
    expect(next.decision.risk.reasons.map((x) => x.code)).to.deep.equal(["DECLINED_HERE"]);
    await w.pay.close();
    const { AgentPay } = await import("../../src/index.ts");
    const again = await AgentPay.open({ store: w.store, clock: w.clock, delivery: false, background: false, risk: { rules: denials } });
    w.clock.advance(60_000);
    const client = again.agentClient({ agentId: w.agent.id, privateKeyJwk: w.privateKeyJwk });
    const after = await client.requestPayment({ subWalletId: w.travel.id, merchantId: w.hotel.merchant.id, amount: usd("21.00") });
    expect(after.decision.risk.reasons.map((x) => x.code)).to.deep.equal(["DECLINED_HERE"]);
    await again.close();
  });

  it("an approval that expires unanswered is no decline", async () => {
    const denials: RuleSet = {
      version: "test-denials", thresholds: { review: 50, decline: 100 },
      rules: [{ id: "declined-here", kind: "review", code: "DECLINED_HERE", message: "declined here lately",
        when: { feature: "agent.categoryDeclines24h", op: ">=", value: 1 } }],
    } as unknown as RuleSet;
    const w = await world({ risk: { rules: denials } });
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.hotel.merchant.id, amount: usd("120.00") });
    if (r.status !== "pending_approval") throw new Error(`expected the person to be asked, got ${r.status}`);
    w.clock.set(r.expiresAtMs + 1);
    expect(await w.pay.approvals.expireDue()).to.equal(1);
    expect(w.pay.payments.get(r.paymentId).status).to.equal("denied");
    const next = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.hotel.merchant.id, amount: usd("20.00") });
    expect(next.decision.risk.reasons).to.deep.equal([]);
  });

  it("a runaway loop: repeats go to review and still count as attempts, so after ten in a minute the flood rule declines", async () => {
    const w = await world({ risk: {} });
    const outcomes: string[] = [];
    for (let i = 0; i < 11; i++) {
      try {
        outcomes.push((await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("5.00") })).status);
      } catch (e) {
        outcomes.push((e as { code: string }).code);
      }
      w.clock.advance(2_000);
    }
    expect(outcomes.slice(0, 10).every((o) => o === "pending_approval")).to.equal(true);
    expect(outcomes[10]).to.equal("PAYMENT_DECLINED");
    expect(w.pay.wallets.balance(w.travel.id).pendingDebitsMinor).to.equal(0n);
  });
});
