import { expect } from "chai";
import { signIntent } from "../../src/index.ts";
import { rejectsWith } from "../ledger/helpers.ts";
import { usd, world } from "./helpers.ts";

async function captured(w: Awaited<ReturnType<typeof world>>, amount = "80.00") {
  const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd(amount) });
  if (r.status !== "approved") throw new Error("expected approved");
  await w.pay.payments.redeem({ token: r.token, merchantId: w.air.merchant.id, amount: usd(amount), idempotencyKey: `cap-${r.paymentId}` });
  return r.paymentId;
}

const ask = (w: Awaited<ReturnType<typeof world>>, body: Record<string, unknown>) =>
  signIntent(w.privateKeyJwk, { agentId: w.agent.id, nowMs: w.clock.nowMs(), body: { action: "refund_request", currency: "USD", idempotencyKey: "rq-1", ...body } });

describe("payments: refund requests (agent asks, merchant grants or declines)", () => {
  it("needs the refund:request scope; the merchant sees it and grants it: the refund restores the budget, in one command", async () => {
    const w = await world();
    const paymentId = await captured(w);
    await rejectsWith(w.pay.payments.requestRefund(await ask(w, { paymentId, amount: "30.00", reason: "flight cancelled" })), "GRANT_SCOPE_MISSING");
    await w.pay.grants.create({ subWalletId: w.travel.id, agentId: w.agent.id, scopes: ["refund:request"], mode: "persistent" });
    const rr = await w.pay.payments.requestRefund(await ask(w, { paymentId, amount: "30.00", reason: "flight cancelled" }));
    expect(rr).to.include({ paymentId, merchantId: w.air.merchant.id, amountMinor: 3000n, status: "pending", reason: "flight cancelled" });
    // The same key, freshly signed: the same request (an honest retry).
    expect((await w.pay.payments.requestRefund(await ask(w, { paymentId, amount: "30.00", reason: "flight cancelled" }))).id).to.equal(rr.id);
    await rejectsWith(w.pay.payments.requestRefund(await ask(w, { paymentId, amount: "31.00", reason: "flight cancelled" })), "IDEMPOTENCY_CONFLICT");
    expect(w.pay.payments.refundRequests({ merchantId: w.air.merchant.id, status: "pending" }).map((r) => r.id)).to.deep.equal([rr.id]);
    const events = [...w.pay.engine.scan<{ type: string }>("ev/")].map(([, e]) => e.type);
    expect(events).to.include("refund.requested");

    const before = w.pay.wallets.balance(w.travel.id).availableMinor;
    // Another merchant cannot touch it.
    await rejectsWith(w.pay.payments.grantRefundRequest({ refundRequestId: rr.id, merchantId: w.hotel.merchant.id, idempotencyKey: "g" }), "REFUND_REQUEST_NOT_FOUND");
    const { request, refund } = await w.pay.payments.grantRefundRequest({ refundRequestId: rr.id, merchantId: w.air.merchant.id, idempotencyKey: "g-1" });
    expect(request).to.include({ status: "granted", refundId: refund.id });
    expect(refund.amountMinor).to.equal(3000n);
    expect(w.pay.wallets.balance(w.travel.id).availableMinor).to.equal(before + 3000n);
    // A retry with the same key is the same refund; another grant is refused.
    expect((await w.pay.payments.grantRefundRequest({ refundRequestId: rr.id, merchantId: w.air.merchant.id, idempotencyKey: "g-1" })).refund.id).to.equal(refund.id);
    await rejectsWith(w.pay.payments.grantRefundRequest({ refundRequestId: rr.id, merchantId: w.air.merchant.id, idempotencyKey: "g-2" }), "REFUND_REQUEST_RESOLVED");
    expect(w.pay.ledger.check().ok).to.equal(true);
    await w.pay.close();
  });

  it("refuses what is not the agent's, more than is left, a payment not captured, bad input; declining records the reason", async () => {
    const w = await world();
    await w.pay.grants.create({ subWalletId: w.travel.id, agentId: w.agent.id, scopes: ["refund:request"], mode: "persistent" });
    const paymentId = await captured(w, "50.00");
    await rejectsWith(w.pay.payments.requestRefund(await ask(w, { paymentId, amount: "50.01", idempotencyKey: "a" })), "REFUND_EXCEEDS_CAPTURE");
    await rejectsWith(w.pay.payments.requestRefund(await ask(w, { paymentId: "pay_00000000000000", amount: "1.00", idempotencyKey: "b" })), "PAYMENT_NOT_FOUND");
    await rejectsWith(w.pay.payments.requestRefund(await ask(w, { paymentId, amount: "-1", idempotencyKey: "c" })), "INVALID_AMOUNT");
    await rejectsWith(w.pay.payments.requestRefund(await ask(w, { paymentId, amount: "1.00", currency: "EUR", idempotencyKey: "d" })), "CURRENCY_MISMATCH");
    await rejectsWith(w.pay.payments.requestRefund(await ask(w, { paymentId, amount: "1.00", idempotencyKey: "e", extra: 1 })), "INVALID_INPUT");
    const other = await w.pay.agents.register({ name: "other" });
    const foreign = await signIntent(other.privateKeyJwk!, { agentId: other.agent.id, nowMs: w.clock.nowMs(), body: { action: "refund_request", paymentId, amount: "1.00", currency: "USD", idempotencyKey: "f" } });
    await rejectsWith(w.pay.payments.requestRefund(foreign), "PAYMENT_NOT_FOUND");
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("10.00") });
    await rejectsWith(w.pay.payments.requestRefund(await ask(w, { paymentId: r.paymentId, amount: "1.00", idempotencyKey: "g" })), "PAYMENT_NOT_CAPTURED");
    expect(w.pay.payments.refundRequests({ paymentId })).to.deep.equal([]);

    const rr = await w.pay.payments.requestRefund(await ask(w, { paymentId, amount: "5.00", idempotencyKey: "h" }));
    const declined = await w.pay.payments.declineRefundRequest({ refundRequestId: rr.id, merchantId: w.air.merchant.id, reason: "used ticket" });
    expect(declined).to.include({ status: "declined", declineReason: "used ticket" });
    expect((await w.pay.payments.declineRefundRequest({ refundRequestId: rr.id, merchantId: w.air.merchant.id })).status).to.equal("declined");
    await rejectsWith(w.pay.payments.grantRefundRequest({ refundRequestId: rr.id, merchantId: w.air.merchant.id, idempotencyKey: "x" }), "REFUND_REQUEST_RESOLVED");
    await w.pay.close();
  });
});

describe("payments: list by owner with a cursor, and wait (long-poll)", () => {
  it("pages newest first with startingAfter, the same after a reopen", async () => {
    const w = await world();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("1.00") });
      ids.push(r.paymentId);
      if (i % 2 === 0) w.clock.advance(1);
    }
    const pages = (pay: typeof w.pay) => {
      const out: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = pay.payments.list({ ownerId: "alice", limit: 3, ...(cursor ? { startingAfter: cursor } : {}) });
        out.push(...page.map((p) => p.id));
        if (page.length < 3) return out;
        cursor = page[page.length - 1]!.id;
      }
    };
    const first = pages(w.pay);
    expect(new Set(first)).to.deep.equal(new Set(ids));
    expect(first.length).to.equal(7);
    await w.pay.close();
    const { pay } = await world({ store: w.store, clock: w.clock });
    expect(pages(pay).filter((id) => ids.includes(id))).to.deep.equal(first);
    expect(() => pay.payments.list({ ownerId: "alice", startingAfter: "pay_00000000000000" })).to.throw().with.property("code", "INVALID_INPUT");
    await pay.close();
  });

  it("wait returns when the person decides, or at the timeout with the payment unchanged", async () => {
    const w = await world();
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("120.00") });
    if (r.status !== "pending_approval") throw new Error("expected pending");
    expect((await w.pay.payments.wait(r.paymentId, { timeoutMs: 20 })).status).to.equal("pending_approval");
    const waiting = w.pay.payments.wait(r.paymentId, { timeoutMs: 30_000 });
    await w.pay.approvals.approve(r.approvalId);
    expect((await waiting).status).to.equal("authorized");
    await rejectsWith(w.pay.payments.wait(r.paymentId, { timeoutMs: 60_001 }), "INVALID_INPUT");
    await w.pay.close();
  });
});
