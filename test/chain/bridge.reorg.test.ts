// The watcher against reorganisations deeper than its confirmations (snapshot/revert on the local chain),
// and reconcile detecting injected mismatches.
import { expect } from "chai";
import { bridgeWorld, expectLedgerOk, expectReconciled, mine, usdc } from "./helpers/bridge.ts";
import { rejectsWith } from "../ledger/helpers.ts";

describe("chain bridge: reorgs and reconcile", () => {
  it("a reorg deeper than the confirmations: orphaned logs are rolled back in reverse and the new chain applied", async () => {
    const w = await bridgeWorld();
    const { pay } = w;
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 100_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    await w.syncClock();
    const r = await w.client.requestPayment({ subWalletId: w.sub.id, merchantId: w.shop.id, amount: usdc("10.00") });
    if (r.status !== "approved") throw new Error("expected approved");
    const snap = await w.chain.networkHelpers.takeSnapshot();

    // Branch A: the merchant takes 7.00, then the owner deposits 5.00; both confirmed and applied.
    await w.merchantClient.redeem({ voucher: r.voucher!.voucher, signature: r.voucher!.signature, amount: 7_000_000n });
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 5_000_000n);
    await mine(w, 3);
    const a = await w.watcher.catchUp();
    expect(a.applied).to.equal(2);
    expect(pay.payments.get(r.paymentId)).to.include({ status: "captured", capturedMinor: 7_000_000n });
    expect(pay.wallets.balance(w.sub.id).postedMinor).to.equal(98_000_000n);
    const budgetA = pay.wallets.budget(w.sub.id).daily.usedMinor;

    // Branch B replaces A from the snapshot on: the merchant takes 4.00 instead, and no deposit.
    await snap.restore();
    await w.merchantClient.redeem({ voucher: r.voucher!.voucher, signature: r.voucher!.signature, amount: 4_000_000n });
    await mine(w, 6);
    const b = await w.watcher.catchUp();
    expect(b.reverted).to.equal(2);
    expect(b.applied).to.equal(1);
    expect(w.watcher.status()).to.include({ reorgs: 1, reverted: 2 });
    expect(pay.payments.get(r.paymentId)).to.include({ status: "captured", capturedMinor: 4_000_000n });
    expect(pay.wallets.balance(w.sub.id)).to.include({ postedMinor: 96_000_000n, pendingDebitsMinor: 0n });
    expect(pay.merchants.balanceMinor(w.shop.id, "USDC")).to.equal(4_000_000n);
    expect(pay.wallets.budget(w.sub.id).daily.usedMinor).to.equal(budgetA - 3_000_000n);
    // The compensating entries are in the statement, visible: nothing was erased.
    const codes = pay.wallets.statement(w.sub.id).entries.map((e) => e.code);
    expect(codes.filter((c) => c === "chain_reorg_reversal").length).to.equal(2);
    expectLedgerOk(pay);
    await expectReconciled(w);
    expect(pay.chain.anomalies()).to.deep.equal([]);

    // And further polls are quiet.
    await mine(w);
    expect((await w.watcher.catchUp()).applied).to.equal(0);
  });

  it("a reorg below the kept window stops the watcher with CHAIN_REORG_TOO_DEEP and commits nothing", async () => {
    const w = await bridgeWorld();
    const watcher = await w.pay.chain.watcher({
      publicClient: w.chain.publicClient, settlement: w.settlement.address, fromBlock: w.deployBlock, confirmations: 1, reorgWindow: 2, id: "shallow",
    });
    await w.watcher.catchUp(); // the main watcher also follows; it keeps a deep window
    const snap = await w.chain.networkHelpers.takeSnapshot();
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 3_000_000n);
    await mine(w, 10);
    await watcher.catchUp();
    await mine(w, 3);
    await watcher.catchUp(); // the deposit's block is now below the kept window
    const before = watcher.status();
    await snap.restore();
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 2_000_000n);
    await mine(w, 12);
    await rejectsWith(watcher.poll(), "CHAIN_REORG_TOO_DEEP");
    expect(watcher.status()).to.include({ cursor: before.cursor, reorgs: 0 });
    expect(watcher.status().lastError?.code).to.equal("CHAIN_REORG_TOO_DEEP");
  });

  it("reconcile reports every injected difference, and nothing when in sync", async () => {
    const w = await bridgeWorld();
    const { pay } = w;
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 10_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    await expectReconciled(w);

    // Ledger side: someone moves 1.00 into the mirror without the chain.
    await pay.ledger.transfer({ debitAccountId: w.binding.externalAccountId, creditAccountId: w.sub.id, amount: usdc("1.00"), code: "injected" });
    let rep = await pay.chain.reconcile({ publicClient: w.chain.publicClient, settlement: w.settlement.address });
    expect(rep.ok).to.equal(false);
    expect(rep.differences).to.have.length(1);
    expect(rep.differences[0]).to.include({
      kind: "agent_bucket", subWalletId: w.sub.id, onChainMinor: 10_000_000n, ledgerMinor: 11_000_000n, diffMinor: -1_000_000n,
    });

    // Chain side: a deposit to the main bucket the watcher has not read yet, compared at the chain's head.
    await w.ownerClient.deposit(w.token.address, undefined, 4_000_000n);
    const head = await w.chain.publicClient.getBlockNumber();
    rep = await pay.chain.reconcile({ publicClient: w.chain.publicClient, settlement: w.settlement.address, blockNumber: head });
    expect(rep.differences.map((d) => [d.kind, d.diffMinor])).to.deep.equal([["agent_bucket", -1_000_000n], ["main_bucket", 4_000_000n]]);

    // Undo the injection and let the watcher catch up: in sync again.
    await pay.ledger.transfer({ debitAccountId: w.sub.id, creditAccountId: w.binding.externalAccountId, amount: usdc("1.00"), code: "injected" });
    await mine(w);
    await w.watcher.catchUp();
    await expectReconciled(w);
    expectLedgerOk(pay);
  });
});
