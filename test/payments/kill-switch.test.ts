import { expect } from "chai";
import { AgentPayError } from "../../src/index.ts";
import { rejectsWith } from "../ledger/helpers.ts";
import { usd, world } from "./helpers.ts";

/**
 * Revocation and freezing are instant for what is already in flight: an approval whose intent was
 * signed by a key since revoked (or an agent since disabled) cannot be approved, and freezing a
 * sub-wallet voids its outstanding unredeemed tokens (unless the person asks to keep them).
 */
describe("payments: the kill switch reaches what is in flight", () => {
  async function pendingApproval() {
    const w = await world();
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.hotel.merchant.id, amount: usd("120.00") });
    if (r.status !== "pending_approval") throw new Error("expected an approval");
    return { ...w, r };
  }

  it("a pending approval whose intent's key was revoked cannot be approved (INTENT_KEY_REVOKED): nothing moves, the person can still deny", async () => {
    const w = await pendingApproval();
    const kid = w.pay.agents.get(w.agent.id).activeKid;
    await w.pay.agents.revokeKey(w.agent.id, kid);
    const balance = w.pay.wallets.balance(w.travel.id);
    await rejectsWith(w.pay.approvals.approve(w.r.approvalId, { by: "alice" }), "INTENT_KEY_REVOKED");
    expect(w.pay.wallets.balance(w.travel.id)).to.deep.equal(balance);
    expect(w.pay.payments.get(w.r.paymentId).status).to.equal("pending_approval");
    expect(w.pay.approvals.get(w.r.approvalId).status).to.equal("pending");
    await w.pay.approvals.deny(w.r.approvalId);
    expect(w.pay.payments.get(w.r.paymentId).status).to.equal("denied");
  });

  it("... and likewise once the agent is disabled (AGENT_DISABLED), or its key's grace has ended", async () => {
    const w = await pendingApproval();
    await w.pay.agents.disable(w.agent.id);
    await rejectsWith(w.pay.approvals.approve(w.r.approvalId), "AGENT_DISABLED");

    const v = await pendingApproval();
    await v.pay.agents.rotateKey(v.agent.id, { graceMs: 60_000 });
    v.clock.advance(61_000);
    await rejectsWith(v.pay.approvals.approve(v.r.approvalId), "INTENT_KEY_REVOKED");
    // A key rotated with grace still in force: approving goes ahead.
    const u = await pendingApproval();
    await u.pay.agents.rotateKey(u.agent.id, { graceMs: 600_000 });
    expect((await u.pay.approvals.approve(u.r.approvalId)).approval.status).to.equal("approved");
  });

  it("freezing voids the sub-wallet's outstanding tokens by default: redemption refused (TOKEN_VOIDED), holds released, budget given back", async () => {
    const w = await world();
    const t1 = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("60.00") });
    const t2 = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.hotel.merchant.id, amount: usd("40.00") });
    if (t1.status !== "approved" || t2.status !== "approved") throw new Error("expected tokens");
    // One already redeemed before the freeze: that capture stands.
    await w.pay.payments.redeem({ token: t2.token, merchantId: w.hotel.merchant.id, amount: usd("40.00"), idempotencyKey: "c2" });
    expect(w.pay.wallets.balance(w.travel.id).pendingDebitsMinor).to.equal(6_000n);
    expect(w.pay.wallets.budget(w.travel.id).daily.usedMinor).to.equal(10_000n);

    const frozen = await w.pay.wallets.freeze(w.travel.id);
    expect(frozen.status).to.equal("frozen");
    const err = await w.pay.payments.redeem({ token: t1.token, merchantId: w.air.merchant.id, amount: usd("60.00"), idempotencyKey: "c1" })
      .catch((e: unknown) => e) as AgentPayError;
    expect(err).to.be.instanceOf(AgentPayError);
    expect(err.code).to.equal("TOKEN_VOIDED");
    expect(w.pay.payments.get(t1.paymentId).status).to.equal("voided");
    expect(w.pay.payments.get(t2.paymentId).status).to.equal("captured");
    expect(w.pay.wallets.balance(w.travel.id).pendingDebitsMinor).to.equal(0n);
    expect(w.pay.wallets.budget(w.travel.id).daily.usedMinor).to.equal(4_000n);
    const voided = [...w.pay.engine.scan<{ type: string; data?: { reason?: string }; subject: { paymentId?: string } }>("ev/")]
      .map(([, e]) => e).filter((e) => e.type === "payment.voided");
    expect(voided.map((e) => e.data?.reason)).to.deep.equal(["frozen"]);
    expect(w.pay.ledger.check().ok).to.equal(true);
    // Unfreezing does not bring a voided token back.
    await w.pay.wallets.unfreeze(w.travel.id);
    await rejectsWith(w.pay.payments.redeem({ token: t1.token, merchantId: w.air.merchant.id, amount: usd("60.00"), idempotencyKey: "c1b" }), "TOKEN_VOIDED");
  });

  it("freeze({ keepTokens: true }) keeps them redeemable: only new payments are stopped", async () => {
    const w = await world();
    const t = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("60.00") });
    if (t.status !== "approved") throw new Error("expected a token");
    await w.pay.wallets.freeze(w.travel.id, { keepTokens: true });
    await rejectsWith(w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("1.00") }), "SUBWALLET_FROZEN");
    const receipt = await w.pay.payments.redeem({ token: t.token, merchantId: w.air.merchant.id, amount: usd("60.00"), idempotencyKey: "c" });
    expect(receipt.capturedMinor).to.equal(6_000n);
    for (const bad of [{ keepTokens: "yes" }, { keep: true }, null, 42]) {
      await rejectsWith(w.pay.wallets.freeze(w.travel.id, bad as never), "INVALID_INPUT");
    }
  });
});
