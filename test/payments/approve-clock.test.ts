import { expect } from "chai";
import { AgentPayError } from "../../src/index.ts";
import { usd, world } from "./helpers.ts";

/** approve() ends in a result or an AgentPayError on every path, however the clock moves. */
describe("approvals: the clock stepping back between approve() and its command", () => {
  it("an approval that looked expired when approve() was called, and is pending again when its command runs: a result or an AgentPayError, never a TypeError", async () => {
    const w = await world();
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.hotel.merchant.id, amount: usd("120.00") });
    if (r.status !== "pending_approval") throw new Error("expected an approval");
    w.clock.advance(16 * 60_000); // past the 15-minute expiry
    const approving = w.pay.approvals.approve(r.approvalId, { by: "alice" });
    w.clock.advance(-16 * 60_000); // NTP steps the clock back before the command runs
    const out = await approving.catch((e: unknown) => e);
    if (out instanceof Error) {
      expect(out, String(out)).to.be.instanceOf(AgentPayError);
    } else {
      // Approved: the payment went ahead, with its hold and token.
      expect((out as { approval: { status: string } }).approval.status).to.equal("approved");
      expect(w.pay.payments.get(r.paymentId).status).to.equal("authorized");
    }
    expect(w.pay.ledger.check().ok).to.equal(true);
  });

  it("the other way: pending when called, expired by the time its command runs: APPROVAL_EXPIRED, nothing moves", async () => {
    const w = await world();
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.hotel.merchant.id, amount: usd("120.00") });
    if (r.status !== "pending_approval") throw new Error("expected an approval");
    const held = w.pay.wallets.balance(w.travel.id);
    const approving = w.pay.approvals.approve(r.approvalId);
    w.clock.advance(16 * 60_000);
    const err = await approving.catch((e: unknown) => e) as AgentPayError;
    expect(err).to.be.instanceOf(AgentPayError);
    expect(err.code).to.equal("APPROVAL_EXPIRED");
    expect(w.pay.wallets.balance(w.travel.id)).to.deep.equal(held);
  });
});
