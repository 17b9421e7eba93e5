// Functional tests of AgentPaySettlement: deposits, buckets, redemption (single, batch, payout), refunds,
// call vouchers into an ERC-4626 vault, freeze, cancellation, ethers vs viem signing.
import { expect } from "chai";
import { Wallet, TypedDataEncoder } from "ethers";
import { encodeAbiParameters, encodeFunctionData, keccak256, parseSignature, toEventSelector, toHex, zeroAddress, hashTypedData } from "viem";
import { bucketIdOf, encodeBatch, encodeCompact, encodeEntry, signVoucher, voucherTypes, VOUCHER_TYPE_STRING, type Entry } from "./helpers/voucher.ts";
import { DAY, agentKey, createChain, expectRevert, loadSettlement, makeOwnerVoucher, makeVoucher, now, signed, type Chain } from "./fixture.ts";

describe("AgentPaySettlement", () => {
  let chain: Chain;
  before(async () => {
    chain = await createChain();
  });
  const load = () => loadSettlement(chain);

  it("exposes the voucher type hash and agrees with viem on the digest", async () => {
    const ctx = await load();
    expect(await ctx.settlement.read.VOUCHER_TYPEHASH()).to.equal(keccak256(toHex(VOUCHER_TYPE_STRING)));
    const v = await makeVoucher(chain, ctx);
    expect(await ctx.settlement.read.hashVoucher([v])).to.equal(
      hashTypedData({ domain: ctx.domain, types: voucherTypes, primaryType: "Voucher", message: v }),
    );
  });

  it("deposits into an agent bucket and redeems one voucher to the merchant's credit", async () => {
    const ctx = await load();
    const { settlement, token } = ctx;
    const v = await makeVoucher(chain, ctx, { cap: 2_500_000n });
    const e = await signed(ctx.agent, ctx.domain, v);
    await settlement.write.redeem([token.address, encodeEntry(e)], { account: chain.merchant.account });
    expect(await settlement.read.creditOf([chain.merchant.account.address, token.address])).to.equal(2_500_000n);
    const [bal] = await settlement.read.bucketOf([chain.owner.account.address, ctx.agent.address, token.address]);
    expect(bal).to.equal(100_000_000n - 2_500_000n);
    expect(await settlement.read.nonceState([v.owner, v.agent, v.nonce])).to.equal(2);
    // withdraw the credit in bulk
    await settlement.write.withdrawCredit([token.address, 2_500_000n, chain.merchant.account.address], {
      account: chain.merchant.account,
    });
    expect(await token.read.balanceOf([chain.merchant.account.address])).to.equal(2_500_000n);
    expect(await settlement.read.creditOf([chain.merchant.account.address, token.address])).to.equal(0n);
  });

  it("emits Redeemed with the digest, the bucket id, the merchant and the amount", async () => {
    const ctx = await load();
    const v = await makeVoucher(chain, ctx);
    const hash = await ctx.settlement.write.redeem([ctx.token.address, encodeEntry(await signed(ctx.agent, ctx.domain, v))], {
      account: chain.merchant.account,
    });
    const r = await chain.publicClient.waitForTransactionReceipt({ hash });
    const logs = await ctx.settlement.getEvents.Redeemed();
    expect(logs.length).to.equal(1);
    const a = logs[0]!.args;
    expect(a.digest).to.equal(await ctx.settlement.read.hashVoucher([v]));
    // the bucket id is keccak256(abi.encode(owner, agent, token)): the contract's view and the library agree
    const id = bucketIdOf(v.owner, v.agent, v.token);
    expect(a.bucket).to.equal(id);
    expect(await ctx.settlement.read.bucketIdOf([v.owner, v.agent, v.token])).to.equal(id);
    expect(id).to.equal(keccak256(encodeAbiParameters([{ type: "address" }, { type: "address" }, { type: "address" }], [v.owner, v.agent, v.token])));
    expect(a.merchant!.toLowerCase()).to.equal(v.merchant.toLowerCase());
    expect(a.amount).to.equal(v.cap);
    // the topic literal of the assembly paths is the event's signature hash
    expect(r.logs[0]!.topics[0]).to.equal(toEventSelector("Redeemed(bytes32,bytes32,address,uint256)"));
    // an indexer learns the bucket's owner, agent and token from the Deposited event that funded it
    const deposits = await ctx.settlement.getEvents.Deposited({}, { fromBlock: 0n });
    expect(deposits.some((d) => bucketIdOf(d.args.owner!, d.args.agent!, d.args.token!) === a.bucket)).to.equal(true);
  });

  it("the fast single-voucher paths (redeemCompact, redeem) and the general path have the same effects and event", async () => {
    const ctx = await load();
    const m = chain.merchant.account;
    // warm-up: credit the merchant once so all measured calls update an existing credit
    await ctx.settlement.write.redeem([ctx.token.address, encodeEntry(await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx, { cap: 1n })))], { account: m });
    const a = await makeVoucher(chain, ctx, { cap: 1_111_111n });
    const b = await makeVoucher(chain, ctx, { cap: 1_111_111n });
    const c = await makeVoucher(chain, ctx, { cap: 1_111_111n });
    const hc = await ctx.settlement.write.redeemCompact({ account: m, dataSuffix: encodeCompact(await signed(ctx.agent, ctx.domain, c)) });
    const ha = await ctx.settlement.write.redeem([ctx.token.address, encodeEntry(await signed(ctx.agent, ctx.domain, a))], { account: m });
    const hb = await ctx.settlement.write.redeemBatch([ctx.token.address, false, encodeBatch([await signed(ctx.agent, ctx.domain, b)])], { account: m });
    const rc = await chain.publicClient.waitForTransactionReceipt({ hash: hc });
    const ra = await chain.publicClient.waitForTransactionReceipt({ hash: ha });
    const rb = await chain.publicClient.waitForTransactionReceipt({ hash: hb });
    // the fast paths are taken for a plain full-cap voucher (well under the general path's cost)
    expect(Number(rc.gasUsed)).to.be.lessThan(Number(ra.gasUsed));
    expect(Number(ra.gasUsed)).to.be.lessThan(Number(rb.gasUsed));
    const logs = await ctx.settlement.getEvents.Redeemed({}, { fromBlock: rc.blockNumber, toBlock: rb.blockNumber });
    expect(logs.length).to.equal(3);
    const [lc, la, lb] = [logs[0]!.args, logs[1]!.args, logs[2]!.args];
    expect(lc.digest).to.equal(await ctx.settlement.read.hashVoucher([c]));
    expect(la.digest).to.equal(await ctx.settlement.read.hashVoucher([a]));
    expect(lb.digest).to.equal(await ctx.settlement.read.hashVoucher([b]));
    expect([la.bucket, la.merchant, la.amount]).to.deep.equal([lb.bucket, lb.merchant, lb.amount]);
    expect([lc.bucket, lc.merchant, lc.amount]).to.deep.equal([lb.bucket, lb.merchant, lb.amount]);
    for (const r of [rc, ra]) {
      expect(r.logs[0]!.topics).to.have.length(4);
      expect(r.logs[0]!.topics[0]).to.equal(rb.logs[0]!.topics[0]);
      expect(r.logs[0]!.topics[2]).to.equal(rb.logs[0]!.topics[2]);
      expect(r.logs[0]!.topics[3]).to.equal(rb.logs[0]!.topics[3]);
      expect(r.logs[0]!.data).to.equal(rb.logs[0]!.data);
    }
    for (const x of [a, b, c]) expect(await ctx.settlement.read.nonceState([x.owner, x.agent, x.nonce])).to.equal(2);
    expect(await ctx.settlement.read.creditOf([m.address, ctx.token.address])).to.equal(3_333_334n);
  });

  it("redeems a partial amount, records it, and pays out directly with redeemAndPay", async () => {
    const ctx = await load();
    const v = await makeVoucher(chain, ctx, { cap: 5_000_000n });
    await ctx.settlement.write.redeemAndPay([ctx.token.address, encodeEntry(await signed(ctx.agent, ctx.domain, v, 1_234_567n))], {
      account: chain.merchant.account,
    });
    expect(await ctx.token.read.balanceOf([chain.merchant.account.address])).to.equal(1_234_567n);
    expect(await ctx.settlement.read.nonceState([v.owner, v.agent, v.nonce])).to.equal(3);
    const [partial] = await ctx.settlement.read.redemptionOf([v.owner, v.agent, v.nonce]);
    expect(partial).to.equal(1_234_567n);
  });

  it("redeems a batch from several agents with one credit, and a batch with payout", async () => {
    const ctx = await load();
    await ctx.settlement.write.deposit([ctx.token.address, ctx.agent2.address, 50_000_000n], { account: chain.owner.account });
    const entries: Entry[] = [];
    for (let i = 0; i < 6; i++) {
      const signer = i % 3 === 2 ? ctx.agent2 : ctx.agent;
      const v = await makeVoucher(chain, { token: ctx.token, agent: signer }, { cap: 1_000_000n + BigInt(i) });
      entries.push(await signed(signer, ctx.domain, v, i === 4 ? 10n : undefined));
    }
    await ctx.settlement.write.redeemBatch([ctx.token.address, false, encodeBatch(entries)], { account: chain.merchant.account });
    const total = entries.reduce((s, e) => s + (e.amount ?? e.voucher.cap), 0n);
    expect(await ctx.settlement.read.creditOf([chain.merchant.account.address, ctx.token.address])).to.equal(total);
    for (const e of entries) {
      expect(await ctx.settlement.read.nonceState([e.voucher.owner, e.voucher.agent, e.voucher.nonce])).to.equal(
        e.amount === undefined ? 2 : 3,
      );
    }
    const [b1] = await ctx.settlement.read.bucketOf([chain.owner.account.address, ctx.agent.address, ctx.token.address]);
    const [b2] = await ctx.settlement.read.bucketOf([chain.owner.account.address, ctx.agent2.address, ctx.token.address]);
    const spent1 = entries.filter((e) => e.voucher.agent === ctx.agent.address).reduce((s, e) => s + (e.amount ?? e.voucher.cap), 0n);
    expect(b1).to.equal(100_000_000n - spent1);
    expect(b2).to.equal(50_000_000n - (total - spent1));

    const more = [await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx)), await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx))];
    await ctx.settlement.write.redeemBatch([ctx.token.address, true, encodeBatch(more)], { account: chain.merchant.account });
    expect(await ctx.token.read.balanceOf([chain.merchant.account.address])).to.equal(2_000_000n);
  });

  it("a voucher signed with ethers and one signed with viem both redeem (same hash)", async () => {
    const ctx = await load();
    const wallet = new Wallet(agentKey);
    expect(wallet.address).to.equal(ctx.agent.address);
    const vEthers = await makeVoucher(chain, ctx, { cap: 700_000n });
    const vViem = await makeVoucher(chain, ctx, { cap: 800_000n });
    const ethersDomain = { ...ctx.domain, chainId: BigInt(ctx.domain.chainId) };
    const ethersTypes = { Voucher: voucherTypes.Voucher.map((f) => ({ ...f })) };
    const sigEthers = (await wallet.signTypedData(ethersDomain, ethersTypes, vEthers)) as `0x${string}`;
    const sigViem = await signVoucher(ctx.agent, ctx.domain, vViem);
    // the three hashes agree: ethers, viem, and the contract
    expect(TypedDataEncoder.hash(ethersDomain, ethersTypes, vEthers)).to.equal(await ctx.settlement.read.hashVoucher([vEthers]));
    expect(hashTypedData({ domain: ctx.domain, types: voucherTypes, primaryType: "Voucher", message: vViem })).to.equal(
      await ctx.settlement.read.hashVoucher([vViem]),
    );
    // and the ethers signature equals viem's over the same voucher (RFC 6979, low s)
    expect(sigEthers).to.equal(await signVoucher(ctx.agent, ctx.domain, vEthers));
    await ctx.settlement.write.redeemBatch(
      [ctx.token.address, false, encodeBatch([{ voucher: vEthers, signature: sigEthers }, { voucher: vViem, signature: sigViem }])],
      { account: chain.merchant.account },
    );
    expect(await ctx.settlement.read.creditOf([chain.merchant.account.address, ctx.token.address])).to.equal(1_500_000n);
  });

  it("accepts a voucher signed by the owner for the agent's bucket (an owner nonce)", async () => {
    const ctx = await load();
    const v = await makeOwnerVoucher(chain, ctx);
    const signature = await chain.owner.signTypedData({ account: chain.owner.account, domain: ctx.domain, types: voucherTypes, primaryType: "Voucher", message: v });
    await ctx.settlement.write.redeem([ctx.token.address, encodeEntry({ voucher: v, signature })], { account: chain.merchant.account });
    expect(await ctx.settlement.read.creditOf([chain.merchant.account.address, ctx.token.address])).to.equal(v.cap);
  });

  it("main bucket: deposit, allocate, withdraw at once; agent bucket: release only after the delay", async () => {
    const ctx = await load();
    const { settlement, token } = ctx;
    const o = chain.owner.account;
    await settlement.write.deposit([token.address, zeroAddress, 10_000_000n], { account: o });
    await settlement.write.allocate([token.address, ctx.agent2.address, 4_000_000n], { account: o });
    await settlement.write.withdraw([token.address, 1_000_000n, chain.other.account.address], { account: o });
    expect(await token.read.balanceOf([chain.other.account.address])).to.equal(1_000_000n);
    expect((await settlement.read.bucketOf([o.address, zeroAddress, token.address]))[0]).to.equal(5_000_000n);
    await expectRevert(settlement.write.withdraw([token.address, 5_000_001n, o.address], { account: o }), "InsufficientBalance");

    await settlement.write.scheduleRelease([token.address, ctx.agent.address, 30_000_000n], { account: o });
    const [, readyAt] = await settlement.read.pendingRelease([o.address, ctx.agent.address, token.address]);
    await expectRevert(settlement.write.release([token.address, ctx.agent.address], { account: o }), "ReleaseNotReady");
    await chain.networkHelpers.time.setNextBlockTimestamp(readyAt);
    await expectRevert(settlement.write.release([token.address, ctx.agent.address], { account: o }), "ReleaseNotReady");
    await chain.networkHelpers.time.setNextBlockTimestamp(readyAt + 1n);
    await settlement.write.release([token.address, ctx.agent.address], { account: o });
    expect((await settlement.read.bucketOf([o.address, ctx.agent.address, token.address]))[0]).to.equal(70_000_000n);
    expect((await settlement.read.bucketOf([o.address, zeroAddress, token.address]))[0]).to.equal(35_000_000n);
    await expectRevert(settlement.write.release([token.address, ctx.agent.address], { account: o }), "NoRelease");
  });

  it("refunds up to the redeemed amount, from credit or from the merchant's wallet", async () => {
    const ctx = await load();
    const { settlement, token } = ctx;
    const m = chain.merchant.account;
    const v = await makeVoucher(chain, ctx, { cap: 3_000_000n });
    const e = await signed(ctx.agent, ctx.domain, v);
    await expectRevert(settlement.write.refund([v, 1n, true, e.signature], { account: m }), "NotRedeemed");
    await settlement.write.redeem([token.address, encodeEntry(e)], { account: m });
    await expectRevert(settlement.write.refund([v, 1n, true, e.signature], { account: chain.other.account }), "NotMerchant");
    await settlement.write.refund([v, 2_000_000n, true, e.signature], { account: m });
    await expectRevert(settlement.write.refund([v, 1_000_001n, true, e.signature], { account: m }), "RefundExceedsRedeemed");
    await token.write.mint([m.address, 1_000_001n]);
    await token.write.approve([settlement.address, 1_000_001n], { account: m });
    await expectRevert(settlement.write.refund([v, 1_000_001n, false, e.signature], { account: m }), "RefundExceedsRedeemed");
    // credit is checked too
    const big = await makeVoucher(chain, ctx, { cap: 90_000_000n });
    const bige = await signed(ctx.agent, ctx.domain, big);
    await settlement.write.redeemAndPay([token.address, encodeEntry(bige)], { account: m });
    await expectRevert(settlement.write.refund([big, 1_000_001n, true, bige.signature], { account: m }), "InsufficientBalance");
    // pull the rest from the merchant's wallet
    await settlement.write.refund([v, 1_000_000n, false, e.signature], { account: m });
    await expectRevert(settlement.write.refund([v, 1n, true, e.signature], { account: m }), "RefundExceedsRedeemed");
    expect((await settlement.read.bucketOf([v.owner, zeroAddress, token.address]))[0]).to.equal(3_000_000n);
    const [, refunded] = await settlement.read.redemptionOf([v.owner, v.agent, v.nonce]);
    expect(refunded).to.equal(3_000_000n);

    // partial redemption: the bound is the partial amount, not the cap
    const p = await makeVoucher(chain, ctx, { cap: 3_000_000n });
    const pe = await signed(ctx.agent, ctx.domain, p, 500_000n);
    await settlement.write.redeem([token.address, encodeEntry(pe)], { account: m });
    await expectRevert(settlement.write.refund([p, 500_001n, true, pe.signature], { account: m }), "RefundExceedsRedeemed");
    await settlement.write.refund([p, 500_000n, true, pe.signature], { account: m });

    // a cancelled voucher cannot be refunded
    const c = await makeVoucher(chain, ctx);
    const ce = await signed(ctx.agent, ctx.domain, c);
    await chain.networkHelpers.setBalance(ctx.agent.address, 10n ** 18n);
    await settlement.write.cancel([c.owner, c.agent, [c.nonce]], { account: ctx.agent });
    await expectRevert(settlement.write.refund([c, 1n, true, ce.signature], { account: m }), "NotRedeemed");
  });

  it("freeze: agent-signed vouchers are refused at once, owner-signed ones still redeem; unfreeze", async () => {
    const ctx = await load();
    const { settlement, token } = ctx;
    await settlement.write.setFrozen([ctx.agent.address, [token.address], true], { account: chain.owner.account });
    const v = await makeVoucher(chain, ctx);
    const e = await signed(ctx.agent, ctx.domain, v);
    await expectRevert(settlement.write.redeem([token.address, encodeEntry(e)], { account: chain.merchant.account }), "AgentFrozen");
    await expectRevert(settlement.write.redeemBatch([token.address, false, encodeBatch([e])], { account: chain.merchant.account }), "AgentFrozen");
    const v2 = await makeOwnerVoucher(chain, ctx);
    const ownerSig = await chain.owner.signTypedData({ account: chain.owner.account, domain: ctx.domain, types: voucherTypes, primaryType: "Voucher", message: v2 });
    await settlement.write.redeem([token.address, encodeEntry({ voucher: v2, signature: ownerSig })], { account: chain.merchant.account });
    await settlement.write.setFrozen([ctx.agent.address, [token.address], false], { account: chain.owner.account });
    await settlement.write.redeem([token.address, encodeEntry(e)], { account: chain.merchant.account });
  });

  it("cancel: the agent cancels its voucher at once, the owner its own before the voucher's window opens; the voucher then fails", async () => {
    const ctx = await load();
    const v = await makeVoucher(chain, ctx);
    const e = await signed(ctx.agent, ctx.domain, v);
    await chain.networkHelpers.setBalance(ctx.agent.address, 10n ** 18n);
    await ctx.settlement.write.cancel([v.owner, v.agent, [v.nonce]], { account: ctx.agent });
    expect(await ctx.settlement.read.nonceState([v.owner, v.agent, v.nonce])).to.equal(1);
    await expectRevert(ctx.settlement.write.redeem([ctx.token.address, encodeEntry(e)], { account: chain.merchant.account }), "NonceUsed");
    // the owner's own voucher, dated for tomorrow: cancellable until its window opens
    const w = await makeOwnerVoucher(chain, ctx, { deadline: (await now(chain)) + 2n * DAY });
    const ownerSig = await chain.owner.signTypedData({ account: chain.owner.account, domain: ctx.domain, types: voucherTypes, primaryType: "Voucher", message: w });
    await ctx.settlement.write.cancel([w.owner, w.agent, [w.nonce]], { account: chain.owner.account });
    await chain.networkHelpers.time.increase(DAY + 1n);
    await expectRevert(ctx.settlement.write.redeem([ctx.token.address, encodeEntry({ voucher: w, signature: ownerSig })], { account: chain.merchant.account }), "NonceUsed");
  });

  it("redeemAndCall deposits into an ERC-4626 vault for the owner, resets the allowance, and checks the call", async () => {
    const ctx = await load();
    const { settlement, token } = ctx;
    const vault = await chain.viem.deployContract("MockVault4626", [token.address]);
    const amount = 4_000_000n;
    const callData = encodeFunctionData({
      abi: vault.abi,
      functionName: "deposit",
      args: [amount, chain.owner.account.address],
    });
    const v = await makeVoucher(chain, ctx, { cap: amount, callTarget: vault.address, callDataHash: keccak256(callData), merchant: chain.other.account.address });
    const sig = await signVoucher(ctx.agent, ctx.domain, v);
    // only the named merchant (here: the agent's relayer) may submit it
    await expectRevert(settlement.write.redeemAndCall([v, amount, callData, sig], { account: chain.merchant.account }), "NotMerchant");
    // calldata must match the signed hash
    const otherData = encodeFunctionData({ abi: vault.abi, functionName: "deposit", args: [amount, chain.other.account.address] });
    await expectRevert(settlement.write.redeemAndCall([v, amount, otherData, sig], { account: chain.other.account }), "InvalidCall");
    await settlement.write.redeemAndCall([v, amount, callData, sig], { account: chain.other.account });
    expect(await vault.read.balanceOf([chain.owner.account.address])).to.equal(amount);
    expect(await token.read.balanceOf([vault.address])).to.equal(amount);
    const executor = await settlement.read.EXECUTOR();
    expect(await token.read.allowance([executor, vault.address])).to.equal(0n);
    expect(await token.read.balanceOf([executor])).to.equal(0n);
    expect((await settlement.read.bucketOf([v.owner, v.agent, token.address]))[0]).to.equal(100_000_000n - amount);
    // replay fails
    await expectRevert(settlement.write.redeemAndCall([v, amount, callData, sig], { account: chain.other.account }), "NonceUsed");
  });

  it("redeemAndCall: a failing call reverts everything; forbidden targets are refused", async () => {
    const ctx = await load();
    const { settlement, token } = ctx;
    const vault = await chain.viem.deployContract("MockVault4626", [token.address]);
    // deposit more than the allowance: the vault's transferFrom fails
    const callData = encodeFunctionData({ abi: vault.abi, functionName: "deposit", args: [5_000_000n, chain.owner.account.address] });
    const v = await makeVoucher(chain, ctx, { cap: 5_000_000n, callTarget: vault.address, callDataHash: keccak256(callData) });
    const sig = await signVoucher(ctx.agent, ctx.domain, v);
    await expectRevert(settlement.write.redeemAndCall([v, 1_000_000n, callData, sig], { account: chain.merchant.account }), "ERC20InsufficientAllowance");
    expect(await ctx.settlement.read.nonceState([v.owner, v.agent, v.nonce])).to.equal(0);
    // the escrow itself can never be the target
    const self = encodeFunctionData({ abi: settlement.abi, functionName: "withdraw", args: [token.address, 1n, chain.merchant.account.address] });
    const vs = await makeVoucher(chain, ctx, { callTarget: settlement.address, callDataHash: keccak256(self) });
    await expectRevert(
      settlement.write.redeemAndCall([vs, 1n, self, await signVoucher(ctx.agent, ctx.domain, vs)], { account: chain.merchant.account }),
      "InvalidCall",
    );
  });

  it("redeemAndCall: an unspent part returns to the bucket and the voucher is recorded as partial", async () => {
    const ctx = await load();
    const { settlement, token } = ctx;
    const vault = await chain.viem.deployContract("MockVault4626", [token.address]);
    const callData = encodeFunctionData({ abi: vault.abi, functionName: "deposit", args: [600_000n, chain.owner.account.address] });
    const v = await makeVoucher(chain, ctx, { cap: 2_000_000n, callTarget: vault.address, callDataHash: keccak256(callData) });
    await settlement.write.redeemAndCall([v, 1_000_000n, callData, await signVoucher(ctx.agent, ctx.domain, v)], { account: chain.merchant.account });
    expect((await settlement.read.bucketOf([v.owner, v.agent, token.address]))[0]).to.equal(100_000_000n - 600_000n);
    expect(await settlement.read.nonceState([v.owner, v.agent, v.nonce])).to.equal(3);
    expect((await settlement.read.redemptionOf([v.owner, v.agent, v.nonce]))[0]).to.equal(600_000n);
  });

  it("depositWithPermit deposits with an EIP-2612 permit", async () => {
    const ctx = await load();
    const { token, settlement } = ctx;
    const o = chain.owner2.account;
    await token.write.mint([o.address, 5_000_000n]);
    const deadline = (await now(chain)) + DAY;
    const nonce = await token.read.nonces([o.address]);
    const sig = await chain.owner2.signTypedData({
      account: o,
      domain: { name: "Test USD", version: "1", chainId: ctx.chainId, verifyingContract: token.address },
      types: { Permit: [{ name: "owner", type: "address" }, { name: "spender", type: "address" }, { name: "value", type: "uint256" }, { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" }] },
      primaryType: "Permit",
      message: { owner: o.address, spender: settlement.address, value: 5_000_000n, nonce, deadline },
    });
    const { r, s, v } = parseSignature(sig);
    await settlement.write.depositWithPermit([token.address, ctx.agent.address, 5_000_000n, deadline, Number(v), r, s], { account: o });
    expect((await settlement.read.bucketOf([o.address, ctx.agent.address, token.address]))[0]).to.equal(5_000_000n);
  });
});
