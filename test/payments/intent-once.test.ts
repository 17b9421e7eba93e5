import { expect } from "chai";
import { AgentPayError } from "../../src/index.ts";
import { rejectsWith } from "../ledger/helpers.ts";
import { usd, world } from "./helpers.ts";

/**
 * A signed intent is usable once, whatever its outcome: an intent refused inside its command
 * (frozen, closed, disabled merchant, no funds, grant problems) is consumed like an accepted one,
 * so resending the same JWS later is INTENT_REPLAYED, never a token or a hold.
 */
describe("payments: a signed intent is used once, whatever its outcome", () => {
  const pay1 = (w: Awaited<ReturnType<typeof world>>, idempotencyKey: string, amount = "50.00") =>
    w.client.sign({ action: "pay", subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount, currency: "USD", idempotencyKey });

  it("refused while the sub-wallet is frozen, resent after the agent's honest retry: INTENT_REPLAYED, never the retry's live token", async () => {
    const w = await world();
    await w.pay.wallets.freeze(w.travel.id);
    const jws = await pay1(w, "order-1");
    await rejectsWith(w.pay.payments.authorize(jws), "SUBWALLET_FROZEN");
    await w.pay.wallets.unfreeze(w.travel.id);
    // The honest retry: a fresh intent, same idempotency key.
    const retry = await w.pay.payments.authorize(await pay1(w, "order-1"));
    expect(retry.status).to.equal("approved");
    const resent = await w.pay.payments.authorize(jws).catch((e: unknown) => e);
    expect(resent).to.be.instanceOf(AgentPayError);
    expect((resent as AgentPayError).code).to.equal("INTENT_REPLAYED");
  });

  it("refused for insufficient funds, resent after a top-up: INTENT_REPLAYED, and no hold is placed", async () => {
    const w = await world();
    const jws = await pay1(w, "big", "100.00");
    // Spend the budget (200.00) down first so 100.00 no longer fits.
    for (let i = 0; i < 2; i++) {
      const spent = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("90.00") });
      expect(spent.status).to.equal("approved");
    }
    await rejectsWith(w.pay.payments.authorize(jws), "INSUFFICIENT_FUNDS");
    await w.pay.wallets.fundSubWallet(w.travel.id, usd("200.00"), { idempotencyKey: "top-up" });
    const held = w.pay.wallets.balance(w.travel.id).pendingDebitsMinor;
    await rejectsWith(w.pay.payments.authorize(jws), "INTENT_REPLAYED");
    expect(w.pay.wallets.balance(w.travel.id).pendingDebitsMinor).to.equal(held);
  });

  it("refused for a disabled merchant, a revoked grant or a closed sub-wallet: each resend is INTENT_REPLAYED once the cause is gone", async () => {
    const w = await world();
    const a = await pay1(w, "m");
    await w.pay.merchants.setStatus(w.air.merchant.id, "disabled");
    await rejectsWith(w.pay.payments.authorize(a), "MERCHANT_DISABLED");
    await w.pay.merchants.setStatus(w.air.merchant.id, "active");
    await rejectsWith(w.pay.payments.authorize(a), "INTENT_REPLAYED");

    const b = await pay1(w, "g");
    await w.pay.grants.revoke(w.grant.id);
    const err = await w.pay.payments.authorize(b).then(() => undefined, (e: AgentPayError) => e) as AgentPayError;
    expect(err.code).to.match(/^GRANT_/);
    await w.pay.grants.create({ subWalletId: w.travel.id, agentId: w.agent.id, scopes: ["pay"], mode: "persistent" });
    await rejectsWith(w.pay.payments.authorize(b), "INTENT_REPLAYED");
    expect((await w.pay.payments.authorize(await pay1(w, "g2"))).status).to.equal("approved");
  });

  it("refused before its command (a body the library refuses): the resend is INTENT_REPLAYED too", async () => {
    const w = await world();
    const jws = await w.client.sign({ action: "pay", subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: "-1", currency: "USD", idempotencyKey: "x" });
    const first = await w.pay.payments.authorize(jws).then(() => undefined, (e: AgentPayError) => e) as AgentPayError;
    expect(first.code).to.not.equal("INTENT_REPLAYED");
    await rejectsWith(w.pay.payments.authorize(jws), "INTENT_REPLAYED");
  });

  it("void and fetch-token intents too: a void refused while the payment awaited approval cannot void it once approved", async () => {
    const w = await world();
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.hotel.merchant.id, amount: usd("120.00") });
    if (r.status !== "pending_approval") throw new Error("expected an approval");
    const voidJws = await w.client.sign({ action: "void", paymentId: r.paymentId });
    await rejectsWith(w.pay.payments.voidByAgent(voidJws), "PAYMENT_NOT_AUTHORIZED");
    const fetchJws = await w.client.sign({ action: "fetch_token", paymentId: r.paymentId });
    expect((await w.pay.payments.fetchToken(fetchJws)).status).to.equal("pending_approval");
    await w.pay.approvals.approve(r.approvalId);
    await rejectsWith(w.pay.payments.voidByAgent(voidJws), "INTENT_REPLAYED");
    await rejectsWith(w.pay.payments.fetchToken(fetchJws), "INTENT_REPLAYED");
    expect(w.pay.payments.get(r.paymentId).status).to.equal("authorized");
  });

  it("survives a restart: the refusal's nonce is durable", async () => {
    const w = await world();
    await w.pay.wallets.freeze(w.travel.id);
    const jws = await pay1(w, "restart");
    await rejectsWith(w.pay.payments.authorize(jws), "SUBWALLET_FROZEN");
    await w.pay.close();
    const again = await world({ store: w.store, clock: w.clock });
    // (world() made new records; the old sub-wallet is still frozen and its agent still registered)
    await again.pay.wallets.unfreeze(w.travel.id);
    await rejectsWith(again.pay.payments.authorize(jws), "INTENT_REPLAYED");
  });
});
