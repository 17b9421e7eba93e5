// The chain bridge's failure paths: the contract's custom errors decoded into stable codes with their
// arguments, bad input refused before anything moves, secrets kept out of errors and JSON, unmatched
// redemptions flagged; and the generated ABI never drifting from the artifacts.
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { expect } from "chai";
import { Wallet as EthersWallet } from "ethers";
import { zeroAddress, type Hex } from "viem";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import {
  agentPaySettlementAbi, bucketIdOf, buildVoucher, decodeRevertData, encodeEntry, hashVoucher, ownerNonceOf, settlementDomain, signVoucher, voucherNonceOf,
} from "../../src/chain/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import type { ViemAccountLike } from "../../src/chain/index.ts";
import { ABI_MODULE_PATH, expectedAbiModule, readArtifact } from "../../scripts/gen-abi.ts";
import { rejectsWith } from "../ledger/helpers.ts";
import { bridgeWorld, expectLedgerOk, expectReconciled, mine, openPay, usdc } from "./helpers/bridge.ts";

describe("chain bridge: errors, bad input, secrets", () => {
  it("the generated ABI module matches the compiled artifacts (run `npm run gen:abi` if not)", () => {
    expect(readFileSync(ABI_MODULE_PATH, "utf8")).to.equal(expectedAbiModule());
    expect(agentPaySettlementAbi).to.deep.equal(readArtifact("artifacts/contracts/AgentPaySettlement.sol/AgentPaySettlement.json").abi);
  });

  it("decodes the contract's custom errors into stable codes with their arguments", async () => {
    const w = await bridgeWorld();
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 20_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    await w.syncClock();
    const r = await w.client.requestPayment({ subWalletId: w.sub.id, merchantId: w.shop.id, amount: usdc("3.00") });
    if (r.status !== "approved") throw new Error("expected approved");
    const v = r.voucher!;
    const over = await rejectsWith(w.merchantClient.redeem({ voucher: v.voucher, signature: v.signature, amount: 3_000_001n }), "CHAIN_OVER_CAP");
    expect(over.details).to.include({ error: "OverCap", cap: 3_000_000n, amount: 3_000_001n });
    // Anyone but the named merchant: the digest differs, so the signature does not match.
    const other = w.pay.chain.client({ publicClient: w.chain.publicClient, walletClient: w.chain.other, address: w.settlement.address });
    await rejectsWith(other.redeem({ voucher: v.voucher, signature: v.signature }), "CHAIN_INVALID_SIGNATURE");
    await w.merchantClient.redeem({ voucher: v.voucher, signature: v.signature });
    const used = await rejectsWith(w.merchantClient.redeem({ voucher: v.voucher, signature: v.signature }), "CHAIN_NONCE_USED");
    expect(used.details).to.include({ owner: v.voucher.owner, agent: v.voucher.agent, nonce: v.voucher.nonce });
    await rejectsWith(w.ownerClient.deposit(w.token.address, w.agentAddress, 0n), "CHAIN_ZERO_AMOUNT");
    const ins = await rejectsWith(w.merchantClient.withdrawCredit(w.token.address, 10n ** 12n, w.chain.merchant.account.address), "CHAIN_INSUFFICIENT_BALANCE");
    expect(ins.details).to.include({ available: 3_000_000n, needed: 10n ** 12n });
    await rejectsWith(w.ownerClient.release(w.token.address, w.agentAddress), "CHAIN_NO_RELEASE");
    // The owner cancels neither the agent's vouchers (its brake is the freeze) nor its own inside their window.
    const notSigner = await rejectsWith(w.ownerClient.cancel(v.voucher.owner, v.voucher.agent, [v.voucher.nonce + 1n]), "CHAIN_NOT_NONCE_SIGNER");
    expect(notSigner.details).to.include({ error: "NotNonceSigner", nonce: v.voucher.nonce + 1n });
    const liveNonce = ownerNonceOf(v.voucher.deadline, 1n);
    const live = await rejectsWith(w.ownerClient.cancel(v.voucher.owner, v.voucher.agent, [liveNonce]), "CHAIN_VOUCHER_LIVE");
    expect(live.details).to.include({ nonce: liveNonce, deadline: v.voucher.deadline });
    expect(await w.ownerClient.frozenBucketsOf(v.voucher.owner, v.voucher.agent)).to.equal(0n);
    await rejectsWith(w.ownerClient.withdraw(w.token.address, 1n, zeroAddress), "CHAIN_ZERO_ADDRESS");
    const poor = w.pay.chain.client({ publicClient: w.chain.publicClient, walletClient: w.chain.other, address: w.settlement.address });
    await rejectsWith(poor.deposit(w.token.address, undefined, 5n), "CHAIN_TOKEN_INSUFFICIENT_ALLOWANCE");
    const readOnly = w.pay.chain.client({ publicClient: w.chain.publicClient, address: w.settlement.address });
    await rejectsWith(readOnly.deposit(w.token.address, w.agentAddress, 1n), "CHAIN_NO_WALLET");
    expect(decodeRevertData("0xdeadbeef").code).to.equal("CHAIN_REVERTED");
    expect(JSON.stringify(over.toJSON())).to.include('"cap":"3000000"');
  });

  it("refuses bad input before anything moves", async () => {
    const w = await bridgeWorld();
    const { pay } = w;
    const records = pay.engine.stats.records;
    const base = { owner: w.chain.owner.account.address, token: w.token.address, chainId: w.chainId, settlement: w.settlement.address };
    const sub2 = await pay.wallets.createSubWallet(w.wallet.id, { name: "second" });
    const n = pay.engine.stats.records;
    await rejectsWith(pay.chain.bind({ ...base, subWalletId: sub2.id, agentId: w.agent.id, owner: "0x1234" as Hex }), "INVALID_INPUT");
    await rejectsWith(pay.chain.bind({ ...base, subWalletId: sub2.id, agentId: w.agent.id, chainId: -1 }), "INVALID_INPUT");
    await rejectsWith(pay.chain.bind({ ...base, subWalletId: sub2.id, agentId: "agt_00000000000000000000000000" }), "AGENT_NOT_FOUND");
    await rejectsWith(pay.chain.bind({ ...base, subWalletId: sub2.id, agentId: w.agent.id }), "CHAIN_ALREADY_BOUND"); // that bucket is taken
    await rejectsWith(pay.chain.bind({ ...base, subWalletId: w.sub.id, agentId: w.agent.id, token: w.settlement.address }), "CHAIN_ALREADY_BOUND");
    expect(pay.engine.stats.records).to.equal(n);
    void records;

    // Payments: an on-chain merchant needs a bound sub-wallet; a bound sub-wallet pays on-chain merchants only;
    // only the bound agent signs for its bucket.
    const rails = (await pay.merchants.register({ name: "Rails Shop", category: "5734" })).merchant;
    await w.syncClock();
    await rejectsWith(w.client.requestPayment({ subWalletId: w.sub.id, merchantId: rails.id, amount: usdc("1.00") }), "CHAIN_SETTLEMENT_REQUIRED");
    await pay.grants.create({ subWalletId: sub2.id, agentId: w.agent.id, scopes: ["pay"], mode: "persistent" });
    await rejectsWith(w.client.requestPayment({ subWalletId: sub2.id, merchantId: w.shop.id, amount: usdc("1.00") }), "CHAIN_NOT_BOUND");
    const { agent: intruder, privateKeyJwk } = await pay.agents.register({ name: "intruder" });
    await pay.grants.create({ subWalletId: w.sub.id, agentId: intruder.id, scopes: ["pay"], mode: "persistent" });
    await rejectsWith(pay.agentClient({ agentId: intruder.id, privateKeyJwk: privateKeyJwk! }).requestPayment({ subWalletId: w.sub.id, merchantId: w.shop.id, amount: usdc("1.00") }), "CHAIN_AGENT_MISMATCH");

    // The packed encoding and the voucher builder validate.
    expect(() => buildVoucher({ owner: zeroAddress, agent: w.agentAddress, merchant: w.agentAddress, token: w.token.address, cap: 1n, deadline: 1n, nonce: 1n })).to.throw(/zero address/);
    expect(() => buildVoucher({ owner: w.agentAddress, agent: w.agentAddress, merchant: w.agentAddress, token: w.token.address, cap: 1n, deadline: 1n << 40n, nonce: 1n })).to.throw(/deadline/);
    // an owner nonce must carry the voucher's deadline (the contract refuses it otherwise); ownerNonceOf makes one
    expect(() => buildVoucher({ owner: w.agentAddress, agent: w.agentAddress, merchant: w.agentAddress, token: w.token.address, cap: 1n, deadline: 2n, nonce: ownerNonceOf(1n, 7n) })).to.throw(/owner nonce/);
    expect(buildVoucher({ owner: w.agentAddress, agent: w.agentAddress, merchant: w.agentAddress, token: w.token.address, cap: 1n, deadline: 2n, nonce: ownerNonceOf(2n, 7n) }).nonce).to.equal((1n << 255n) | (2n << 215n) | 7n);
    expect(() => ownerNonceOf(1n << 40n, 0n)).to.throw(/deadline/);
    expect(() => ownerNonceOf(1n, 1n << 215n)).to.throw(/seq/);
    expect(voucherNonceOf("pay_outside000000") < 1n << 255n).to.equal(true);
    const v = buildVoucher({ owner: w.agentAddress, agent: w.agentAddress, merchant: w.agentAddress, token: w.token.address, cap: 1n, deadline: 1n, nonce: 1n });
    expect(() => encodeEntry({ voucher: v, signature: "0x123" as Hex })).to.throw(/signature/);
    expect(() => settlementDomain(1, "nope" as Hex)).to.throw(/settlement/);
    // The watcher refuses a client on another chain.
    const wrong = await pay.chain.watcher({ publicClient: w.chain.publicClient, settlement: w.settlement.address, fromBlock: 0n, chainId: 999, id: "wrong" });
    await rejectsWith(wrong.poll(), "CHAIN_WATCHER_MISMATCH");
  });

  it("keeps voucher keys secret; a host signer must be supplied again after a restart and must sign correctly", async () => {
    const w = await bridgeWorld();
    const { pay } = w;
    const stored = pay.engine.read<{ privateKey: Hex }>(`ck/${w.agent.id}`)!;
    expect(stored.privateKey).to.match(/^0x[0-9a-f]{64}$/);
    const secretHex = stored.privateKey.slice(2);
    for (const text of [JSON.stringify(pay.chain.keys), inspect(pay.chain.keys), JSON.stringify(pay.chain.keys.get(w.agent.id)), JSON.stringify(w.binding)]) {
      expect(text).to.not.include(secretHex);
    }
    // A host signer that signs with another key is caught before anything is recorded.
    const { agent: liar, privateKeyJwk } = await pay.agents.register({ name: "liar" });
    const real = privateKeyToAccount(generatePrivateKey());
    const other = privateKeyToAccount(generatePrivateKey());
    await pay.chain.useSigner(liar.id, { address: real.address, signTypedData: (args: Parameters<ViemAccountLike["signTypedData"]>[0]) => other.signTypedData(args) });
    await rejectsWith(pay.chain.useSigner(liar.id, other), "CHAIN_AGENT_KEY_EXISTS");
    const sub = await pay.wallets.createSubWallet(w.wallet.id, { name: "liar" });
    await pay.grants.create({ subWalletId: sub.id, agentId: liar.id, scopes: ["pay"], mode: "persistent" });
    await pay.chain.bind({ subWalletId: sub.id, agentId: liar.id, owner: w.chain.owner.account.address, token: w.token.address, chainId: w.chainId, settlement: w.settlement.address });
    await w.ownerClient.deposit(w.token.address, real.address, 5_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    await w.syncClock();
    const liarClient = pay.agentClient({ agentId: liar.id, privateKeyJwk: privateKeyJwk! });
    const err = await rejectsWith(liarClient.requestPayment({ subWalletId: sub.id, merchantId: w.shop.id, amount: usdc("1.00") }), "CHAIN_INVALID_SIGNATURE");
    expect(JSON.stringify(err.toJSON())).to.not.include(secretHex);
    expect(pay.payments.list({ subWalletId: sub.id })).to.deep.equal([]);

    // After a restart the host key is gone until supplied again.
    await pay.close();
    const pay2 = await openPay(w.store, w.clock);
    await w.syncClock();
    const c2 = pay2.agentClient({ agentId: liar.id, privateKeyJwk: privateKeyJwk! });
    await rejectsWith(c2.requestPayment({ subWalletId: sub.id, merchantId: w.shop.id, amount: usdc("1.00") }), "CHAIN_SIGNER_MISSING");
    await pay2.chain.useSigner(liar.id, real);
    const ok = await c2.requestPayment({ subWalletId: sub.id, merchantId: w.shop.id, amount: usdc("1.00") });
    expect(ok.status).to.equal("approved");
    await pay2.close();
  });

  it("a redemption of a voucher the library never issued is applied from the mirror and flagged", async () => {
    const w = await bridgeWorld();
    const { pay } = w;
    const key = EthersWallet.createRandom();
    const { agent } = await pay.agents.register({ name: "own-key" });
    await pay.chain.useSigner(agent.id, key);
    const sub = await pay.wallets.createSubWallet(w.wallet.id, { name: "own" });
    const b = await pay.chain.bind({ subWalletId: sub.id, agentId: agent.id, owner: w.chain.owner.account.address, token: w.token.address, chainId: w.chainId, settlement: w.settlement.address });
    await w.ownerClient.deposit(w.token.address, b.agent, 9_000_000n);
    // The agent signs a voucher on its own, outside agentpay.
    const domain = settlementDomain(w.chainId, w.settlement.address);
    const now = (await w.chain.publicClient.getBlock()).timestamp;
    const v = buildVoucher({ owner: b.owner, agent: b.agent, merchant: w.chain.merchant.account.address, token: b.token, cap: 2_000_000n, deadline: now + 600n, nonce: voucherNonceOf("pay_outside000000") });
    const { voucherTypes } = await import("../../src/chain/index.ts");
    const signature = (await key.signTypedData(domain, { Voucher: [...voucherTypes.Voucher] }, v)) as Hex;
    await w.merchantClient.redeem({ voucher: v, signature });
    await mine(w);
    await w.watcher.catchUp();
    expect(pay.wallets.balance(sub.id).postedMinor).to.equal(7_000_000n);
    expect(pay.merchants.balanceMinor(w.shop.id, "USDC")).to.equal(2_000_000n);
    const anomalies = pay.chain.anomalies();
    expect(anomalies.map((a) => a.kind)).to.deep.equal(["unmatched_redemption"]);
    expect(anomalies[0]!.detail).to.include({ digest: hashVoucher(domain, v), amountMinor: 2_000_000n, subWalletId: sub.id });
    expectLedgerOk(pay);
    await expectReconciled(w);
  });
});

describe("chain bridge: Redeemed names the bucket by id", () => {
  it("a redemption from a bucket that is not ours, paying our merchant, is mirrored (bucket learned from its Deposited event) and flagged", async () => {
    const w = await bridgeWorld();
    const { pay, chain } = w;
    const foreign = privateKeyToAccount(generatePrivateKey());
    const other = chain.owner2;
    await w.token.write.mint([other.account.address, 10_000_000n]);
    const otherClient = pay.chain.client({ publicClient: chain.publicClient, walletClient: other, address: w.settlement.address });
    await otherClient.approveToken(w.token.address, 10_000_000n);
    await otherClient.deposit(w.token.address, foreign.address, 10_000_000n);
    const afterDeposit = await chain.publicClient.getBlockNumber();
    const domain = settlementDomain(w.chainId, w.settlement.address);
    const now = (await chain.publicClient.getBlock()).timestamp;
    const v = buildVoucher({ owner: other.account.address, agent: foreign.address, merchant: chain.merchant.account.address, token: w.token.address, cap: 2_000_000n, deadline: now + 600n, nonce: 1n });
    const signature = await signVoucher(foreign, domain, v);
    await w.merchantClient.redeem({ voucher: v, signature });
    await mine(w);
    await w.watcher.catchUp();
    expect(pay.merchants.balanceMinor(w.shop.id, "USDC")).to.equal(2_000_000n);
    const anomalies = pay.chain.anomalies();
    expect(anomalies.map((a) => a.kind)).to.deep.equal(["external_redemption"]);
    expect(anomalies[0]!.detail).to.include({ digest: hashVoucher(domain, v), amountMinor: 2_000_000n });
    expectLedgerOk(pay);
    await expectReconciled(w);

    // A watcher that starts after the bucket was funded cannot tell the token: it flags the redemption and moves nothing.
    const pay2 = await openPay(new MemoryStore(), w.clock);
    const shop2 = (await pay2.merchants.register({ name: "Chain Shop", category: "5734", settlement: "chain", chainAddress: chain.merchant.account.address })).merchant;
    const watcher2 = await pay2.chain.watcher({ publicClient: chain.publicClient, settlement: w.settlement.address, fromBlock: afterDeposit + 1n, confirmations: 2 });
    await watcher2.catchUp();
    const a2 = pay2.chain.anomalies();
    expect(a2.map((a) => a.kind)).to.deep.equal(["external_redemption"]);
    expect(a2[0]!.detail).to.include({ digest: hashVoucher(domain, v), bucket: bucketIdOf(v.owner, v.agent, v.token), amountMinor: 2_000_000n, tokenUnknown: true });
    expect(pay2.merchants.balanceMinor(shop2.id, "USDC")).to.equal(0n);
    await pay2.close();
  });
});

describe("chain bridge: deploy", () => {
  it("deploys the settlement contract with any wallet client, and the script refuses an RPC URL without a key", async () => {
    const { createChain } = await import("./fixture.ts");
    const { deploySettlementContract } = await import("../../src/chain/index.ts");
    const { deploy } = await import("../../scripts/deploy.ts");
    const chain = await createChain();
    const d = await deploySettlementContract({ publicClient: chain.publicClient, walletClient: chain.deployer, maxVoucherLifetimeSec: 600n, withdrawalDelaySec: 3_600n });
    expect(await chain.publicClient.getCode({ address: d.settlement })).to.match(/^0x[0-9a-f]{100,}/);
    const client = new (await import("../../src/chain/index.ts")).SettlementClient({ publicClient: chain.publicClient, address: d.settlement });
    expect(await client.maxVoucherLifetime()).to.equal(600n);
    expect(await client.withdrawalDelay()).to.equal(3_600n);
    await rejectsWith(deploySettlementContract({ publicClient: chain.publicClient, walletClient: chain.deployer, maxVoucherLifetimeSec: 600n, withdrawalDelaySec: 60n }), "INVALID_INPUT");
    let err: unknown;
    try {
      await deploy({ AGENTPAY_RPC_URL: "http://127.0.0.1:9/secret-api-key" });
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.include("AGENTPAY_DEPLOYER_KEY");
    expect(String(err)).to.not.include("secret-api-key");
  });
});
