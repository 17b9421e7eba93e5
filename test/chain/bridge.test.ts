// The chain bridge end to end on an in-process Hardhat chain: authorize → token + voucher → the merchant
// redeems on-chain → the watcher posts it to the ledger; partial capture, refund, credit withdrawal,
// expiry by chain time, reconcile; the ethers path; watcher restart (exactly once).
import { expect } from "chai";
import { Wallet as EthersWallet } from "ethers";
import { createWalletClient, custom } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { verifyTokenOffline } from "../../src/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import { ManualClock } from "../../src/core/index.ts";
import { rejectsWith } from "../ledger/helpers.ts";
import { bridgeWorld, expectLedgerOk, expectReconciled, lower, mine, openPay, usdc } from "./helpers/bridge.ts";

describe("chain bridge: on-chain payments end to end", () => {
  it("authorize → voucher → merchant redeems a partial amount on-chain → the watcher captures it; refund and credit withdrawal; reconciled", async () => {
    const w = await bridgeWorld();
    const { pay, token, settlement, chain } = w;
    await w.ownerClient.deposit(token.address, w.agentAddress, 100_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    expect(pay.wallets.balance(w.sub.id)).to.include({ postedMinor: 100_000_000n, availableMinor: 100_000_000n });
    await expectReconciled(w);

    await w.syncClock();
    const r = await w.client.requestPayment({ subWalletId: w.sub.id, merchantId: w.shop.id, amount: usdc("10.00"), reference: "order-1" });
    if (r.status !== "approved") throw new Error("expected approved");
    const v = r.voucher!;
    expect(v).to.not.equal(undefined);
    // The token carries the voucher's digest; the contract computes the same digest.
    const claims = verifyTokenOffline(r.token, pay.tokens.jwks(), { audience: w.shop.id, nowMs: pay.clock.nowMs() });
    expect(claims.voucherHash).to.equal(v.digest);
    expect(await settlement.read.hashVoucher([v.voucher])).to.equal(v.digest);
    expect(v.voucher).to.include({ owner: lower(chain.owner.account.address), agent: w.agentAddress, merchant: lower(chain.merchant.account.address), cap: 10_000_000n });
    expect(v.voucher.deadline).to.equal(BigInt(r.expiresAtMs / 1000));
    expect(pay.payments.get(r.paymentId).chain).to.include({ digest: v.digest, chainId: w.chainId });
    expect(pay.wallets.balance(w.sub.id)).to.include({ postedMinor: 100_000_000n, pendingDebitsMinor: 10_000_000n });
    // An idempotent retry gets the same voucher; the off-chain paths refuse an on-chain payment.
    await rejectsWith(pay.payments.redeem({ token: r.token, merchantId: w.shop.id, amount: usdc("1.00"), idempotencyKey: "x" }), "CHAIN_PAYMENT_ON_CHAIN");
    await rejectsWith(pay.payments.voidByMerchant({ merchantId: w.shop.id, paymentId: r.paymentId }), "CHAIN_VOUCHER_OUTSTANDING");

    // The merchant redeems 7.50 of the 10.00 on-chain.
    const tx = await w.merchantClient.redeem({ voucher: v.voucher, signature: v.signature, amount: 7_500_000n });
    expect(tx.result).to.equal(7_500_000n);
    // Not yet confirmed: nothing posted.
    await w.watcher.poll();
    expect(pay.payments.get(r.paymentId).status).to.equal("authorized");
    await mine(w);
    await w.watcher.catchUp();
    const p = pay.payments.get(r.paymentId);
    expect(p).to.include({ status: "captured", capturedMinor: 7_500_000n });
    expect(pay.wallets.balance(w.sub.id)).to.include({ postedMinor: 92_500_000n, pendingDebitsMinor: 0n, availableMinor: 92_500_000n });
    expect(pay.merchants.balanceMinor(w.shop.id, "USDC")).to.equal(7_500_000n);
    expect(pay.chain.paymentIdOf(v.digest)).to.equal(r.paymentId);
    expectLedgerOk(pay);
    await expectReconciled(w);

    // Refund 2.00 from the merchant's credit (into the owner's main bucket) and withdraw 3.00 of credit.
    await w.merchantClient.refund(v.voucher, 2_000_000n, v.signature);
    await w.merchantClient.withdrawCredit(token.address, 3_000_000n, chain.merchant.account.address);
    await mine(w);
    await w.watcher.catchUp();
    expect(pay.payments.get(r.paymentId).refundedMinor).to.equal(2_000_000n);
    expect(pay.merchants.balanceMinor(w.shop.id, "USDC")).to.equal(2_500_000n);
    expect(pay.ledger.balance(w.binding.mainAccountId).postedMinor).to.equal(2_000_000n);
    expectLedgerOk(pay);
    await expectReconciled(w);

    // Allocate from main back into the agent bucket; all three sides still agree.
    await w.ownerClient.allocate(token.address, w.agentAddress, 1_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    expect(pay.wallets.balance(w.sub.id).postedMinor).to.equal(93_500_000n);
    await expectReconciled(w);
    expect(pay.chain.anomalies()).to.deep.equal([]);
  });

  it("vouchers take sequential nonces, so full redemptions reuse a nonce-bitmap word (cheaper gas)", async () => {
    const w = await bridgeWorld();
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 100_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    const gas: bigint[] = [];
    const nonces: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      await w.syncClock();
      const r = await w.client.requestPayment({ subWalletId: w.sub.id, merchantId: w.shop.id, amount: usdc("1.00") });
      if (r.status !== "approved") throw new Error("expected approved");
      nonces.push(r.voucher!.voucher.nonce);
      gas.push((await w.merchantClient.redeem({ voucher: r.voucher!.voucher, signature: r.voucher!.signature })).gasUsed);
    }
    expect(nonces[1]).to.equal(nonces[0]! + 1n);
    expect(nonces[2]).to.equal(nonces[0]! + 2n);
    // The first redemption starts the bitmap word; the next ones only update it.
    expect(gas[2]! < gas[0]! - 10_000n, `gas ${gas.join(", ")}`).to.equal(true);
    await mine(w);
    await w.watcher.catchUp();
    await expectReconciled(w);
  });

  it("an unredeemed voucher's hold is released once the confirmed chain time passes its deadline", async () => {
    const w = await bridgeWorld();
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 50_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    await w.syncClock();
    const r = await w.client.requestPayment({ subWalletId: w.sub.id, merchantId: w.shop.id, amount: usdc("5.00") });
    if (r.status !== "approved") throw new Error("expected approved");
    // The off-chain sweeper leaves on-chain payments alone (the voucher is still redeemable).
    w.clock.advance(3_600_000);
    expect(await w.pay.payments.expireDue()).to.equal(0);
    expect(w.pay.payments.get(r.paymentId).status).to.equal("authorized");
    await w.chain.networkHelpers.time.increase(3_600);
    await mine(w, 3);
    await w.watcher.catchUp();
    expect(w.pay.payments.get(r.paymentId).status).to.equal("expired");
    expect(w.pay.wallets.balance(w.sub.id)).to.include({ postedMinor: 50_000_000n, pendingDebitsMinor: 0n });
    // Too late on-chain as well.
    await rejectsWith(w.merchantClient.redeem({ voucher: r.voucher!.voucher, signature: r.voucher!.signature }), "CHAIN_VOUCHER_EXPIRED");
    expectLedgerOk(w.pay);
  });

  it("a voucher cancelled on-chain by its signer (the agent's key) voids its payment; the owner cannot cancel it", async () => {
    const w = await bridgeWorld();
    const { pay } = w;
    // an agent whose voucher key the host holds (a viem account), so it can send its own cancel
    const account = privateKeyToAccount(generatePrivateKey());
    const { agent, privateKeyJwk } = await pay.agents.register({ name: "cancelling-agent" });
    await pay.chain.useSigner(agent.id, account);
    const sub = await pay.wallets.createSubWallet(w.wallet.id, { name: "cancels" });
    await pay.grants.create({ subWalletId: sub.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
    await pay.chain.bind({ subWalletId: sub.id, agentId: agent.id, owner: w.chain.owner.account.address, token: w.token.address, chainId: w.chainId, settlement: w.settlement.address });
    await w.ownerClient.deposit(w.token.address, account.address, 50_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    await w.syncClock();
    const client = pay.agentClient({ agentId: agent.id, privateKeyJwk: privateKeyJwk! });
    const r = await client.requestPayment({ subWalletId: sub.id, merchantId: w.shop.id, amount: usdc("5.00") });
    if (r.status !== "approved") throw new Error("expected approved");
    const v = r.voucher!.voucher;
    await rejectsWith(w.ownerClient.cancel(v.owner, v.agent, [v.nonce]), "CHAIN_NOT_NONCE_SIGNER");
    await w.chain.networkHelpers.setBalance(account.address, 10n ** 18n);
    const walletClient = createWalletClient({ account, chain: w.chain.publicClient.chain, transport: custom(w.chain.conn.provider) });
    const agentChain = pay.chain.client({ publicClient: w.chain.publicClient, walletClient, address: w.settlement.address });
    await agentChain.cancel(v.owner, v.agent, [v.nonce]);
    await mine(w);
    await w.watcher.catchUp();
    expect(pay.payments.get(r.paymentId).status).to.equal("voided");
    expect(pay.wallets.balance(sub.id)).to.include({ availableMinor: 50_000_000n, pendingDebitsMinor: 0n });
    expectLedgerOk(pay);
    await expectReconciled(w);
  });

  it("a voucher signed through an ethers Signer is redeemed on-chain and captured", async () => {
    const w = await bridgeWorld();
    const { pay } = w;
    const ethersAgent = EthersWallet.createRandom();
    const { agent, privateKeyJwk } = await pay.agents.register({ name: "ethers-agent" });
    const info = await pay.chain.useSigner(agent.id, ethersAgent);
    expect(info).to.include({ address: ethersAgent.address.toLowerCase(), source: "host" });
    const sub = await pay.wallets.createSubWallet(w.wallet.id, { name: "ethers" });
    await pay.grants.create({ subWalletId: sub.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
    const b = await pay.chain.bind({ subWalletId: sub.id, agentId: agent.id, owner: w.chain.owner.account.address, token: w.token.address, chainId: w.chainId, settlement: w.settlement.address });
    expect(b.agent).to.equal(ethersAgent.address.toLowerCase());
    await w.ownerClient.deposit(w.token.address, b.agent, 20_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    await w.syncClock();
    const client = pay.agentClient({ agentId: agent.id, privateKeyJwk: privateKeyJwk! });
    const r = await client.requestPayment({ subWalletId: sub.id, merchantId: w.shop.id, amount: usdc("12.34") });
    if (r.status !== "approved") throw new Error("expected approved");
    await w.merchantClient.redeem({ voucher: r.voucher!.voucher, signature: r.voucher!.signature });
    await mine(w);
    await w.watcher.catchUp();
    expect(pay.payments.get(r.paymentId)).to.include({ status: "captured", capturedMinor: 12_340_000n });
    expect(pay.wallets.balance(sub.id).postedMinor).to.equal(20_000_000n - 12_340_000n);
    expectLedgerOk(pay);
    await expectReconciled(w);
  });

  it("the watcher applies each log exactly once across a restart", async () => {
    const w = await bridgeWorld();
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 30_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    await w.syncClock();
    const r = await w.client.requestPayment({ subWalletId: w.sub.id, merchantId: w.shop.id, amount: usdc("4.00") });
    if (r.status !== "approved") throw new Error("expected approved");
    await w.merchantClient.redeem({ voucher: r.voucher!.voucher, signature: r.voucher!.signature });
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 1_000_000n);
    const before = w.watcher.status();
    await w.pay.close();

    // A new process on the same store: its watcher resumes from the stored cursor.
    const pay2 = await openPay(w.store, w.clock);
    const watcher2 = await pay2.chain.watcher({ publicClient: w.chain.publicClient, settlement: w.settlement.address, fromBlock: w.deployBlock, confirmations: 2 });
    expect(watcher2.status().cursor).to.equal(before.cursor);
    await mine(w);
    const res = await watcher2.catchUp();
    expect(res.applied).to.equal(2); // the redemption and the second deposit, nothing before them again
    expect(pay2.payments.get(r.paymentId)).to.include({ status: "captured", capturedMinor: 4_000_000n });
    expect(pay2.wallets.balance(w.sub.id).postedMinor).to.equal(27_000_000n);
    // Polling again applies nothing.
    await mine(w);
    expect((await watcher2.catchUp()).applied).to.equal(0);
    expect(pay2.wallets.balance(w.sub.id).postedMinor).to.equal(27_000_000n);
    expectLedgerOk(pay2);
    const rec = await pay2.chain.reconcile({ publicClient: w.chain.publicClient, settlement: w.settlement.address });
    expect(rec.differences).to.deep.equal([]);
    // A library-held agent key survives the restart: the agent can still pay on-chain.
    await w.syncClock();
    const client2 = pay2.agentClient({ agentId: w.agent.id, privateKeyJwk: w.privateKeyJwk });
    const r2 = await client2.requestPayment({ subWalletId: w.sub.id, merchantId: w.shop.id, amount: usdc("1.00") });
    expect(r2.status).to.equal("approved");
    await pay2.close();
  });

  it("a payment that needs approval gets its voucher when approved, and the agent fetches both", async () => {
    const w = await bridgeWorld();
    const { pay } = w;
    await pay.wallets.updatePolicy(w.sub.id, { perPayment: "50.00", approvalAbove: "5.00" });
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 20_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    await w.syncClock();
    const r = await w.client.requestPayment({ subWalletId: w.sub.id, merchantId: w.shop.id, amount: usdc("8.00") });
    if (r.status !== "pending_approval") throw new Error("expected pending_approval");
    expect(pay.chain.voucher(r.paymentId)).to.equal(undefined);
    await pay.approvals.approve(r.approvalId, { by: "alice" });
    const f = await w.client.fetchToken(r.paymentId);
    expect(f.status).to.equal("authorized");
    expect(f.voucher!.digest).to.equal(pay.payments.get(r.paymentId).chain!.digest);
    await w.merchantClient.redeem({ voucher: f.voucher!.voucher, signature: f.voucher!.signature });
    await mine(w);
    await w.watcher.catchUp();
    expect(pay.payments.get(r.paymentId)).to.include({ status: "captured", capturedMinor: 8_000_000n });
    expectLedgerOk(pay);
    await expectReconciled(w);
  });

  it("opening without a chain changes nothing for ledger payments", async () => {
    const pay = await openPay(new MemoryStore(), new ManualClock());
    expect(pay.chain.bindings()).to.deep.equal([]);
    await pay.close();
  });

  it("without { chain: true }: pay.chain, payments to on-chain merchants and a store holding bindings are refused (CHAIN_NOT_ENABLED)", async () => {
    const w = await bridgeWorld();
    await w.pay.close();
    // The store holds a binding: opening it without the bridge would handle on-chain payments half-way.
    await rejectsWith(openPay(w.store, w.clock, { chain: false }), "CHAIN_NOT_ENABLED");
    const plain = await openPay(new MemoryStore(), new ManualClock(), { chain: false });
    expect(() => plain.chain).to.throw().with.property("code", "CHAIN_NOT_ENABLED");
    const wallet = await plain.wallets.create({ ownerId: "bob", currency: "USDC", timeZone: "UTC" });
    await plain.wallets.deposit(wallet.id, usdc("10.00"), { idempotencyKey: "d" });
    const sub = await plain.wallets.createSubWallet(wallet.id, { name: "s", budget: usdc("10.00") });
    const { agent, privateKeyJwk } = await plain.agents.register({ name: "a" });
    await plain.grants.create({ subWalletId: sub.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
    const shop = (await plain.merchants.register({ name: "Chain Shop", category: "5734", settlement: "chain", chainAddress: w.chain.merchant.account.address })).merchant;
    const client = plain.agentClient({ agentId: agent.id, privateKeyJwk: privateKeyJwk! });
    const before = plain.wallets.balance(sub.id);
    await rejectsWith(client.requestPayment({ subWalletId: sub.id, merchantId: shop.id, amount: usdc("1.00") }), "CHAIN_NOT_ENABLED");
    expect(plain.wallets.balance(sub.id)).to.deep.equal(before);
    expect(plain.payments.list({ subWalletId: sub.id })).to.deep.equal([]);
    await plain.close();
  });
});
