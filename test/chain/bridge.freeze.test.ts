// Freezing a sub-wallet voids its outstanding tokens off-chain, but an on-chain payment's voucher
// stays redeemable on-chain until its deadline: its hold stays, and the merchant can still redeem.
import { expect } from "chai";
import { bridgeWorld, expectLedgerOk, expectReconciled, mine, usdc } from "./helpers/bridge.ts";

describe("chain bridge: the kill switch and on-chain payments", () => {
  it("freezing leaves an on-chain payment authorized (its voucher is redeemable on-chain until its deadline); the merchant redeems it and the watcher captures it", async () => {
    const w = await bridgeWorld();
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 50_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    await w.syncClock();
    const r = await w.client.requestPayment({ subWalletId: w.sub.id, merchantId: w.shop.id, amount: usdc("5.00") });
    if (r.status !== "approved") throw new Error("expected approved");
    await w.pay.wallets.freeze(w.sub.id);
    expect(w.pay.payments.get(r.paymentId).status).to.equal("authorized");
    expect(w.pay.wallets.balance(w.sub.id).pendingDebitsMinor).to.equal(5_000_000n);
    await w.merchantClient.redeem({ voucher: r.voucher!.voucher, signature: r.voucher!.signature });
    await mine(w);
    await w.watcher.catchUp();
    expect(w.pay.payments.get(r.paymentId)).to.include({ status: "captured", capturedMinor: 5_000_000n });
    expectLedgerOk(w.pay);
    await expectReconciled(w);
  });
});
