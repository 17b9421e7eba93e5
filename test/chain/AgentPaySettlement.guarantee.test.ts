// What a merchant can rely on (contracts/README.md, "What a merchant can rely on"), tested against the three
// attacks an independent run found on it (issue 21, items 14-16): the owner draining a bucket with its own
// vouchers, the owner cancelling a voucher already handed out, and a stolen (then frozen) agent key cancelling
// the owner-signed vouchers that are meant to survive a freeze.
import { expect } from "chai";
import { encodeFunctionData, keccak256, toHex, zeroAddress, type Hex } from "viem";
import type { LocalAccount } from "viem/accounts";
import { encodeBatch, encodeCompact, encodeEntry, ownerNonceOf, OWNER_NONCE_FLAG, signVoucher, voucherTypes, type Entry, type Voucher } from "./helpers/voucher.ts";
import { DAY, createChain, expectRevert, loadSettlement, makeVoucher, now, signed, type Chain, type Settlement } from "./fixture.ts";

describe("AgentPaySettlement: what a merchant can rely on (issue 21, items 14-16)", () => {
  let chain: Chain;
  before(async () => {
    chain = await createChain();
  });
  type Ctx = Settlement;
  let seq = 1n;

  /** The fixture, with gas money for the agent's key (it sends its own cancels). */
  async function load(): Promise<Ctx> {
    const ctx = await loadSettlement(chain);
    await chain.networkHelpers.setBalance(ctx.agent.address, 10n ** 18n);
    return ctx;
  }
  /** A voucher the owner signs: an owner nonce carrying its deadline. */
  async function ownerVoucher(ctx: Ctx, fields: Partial<Voucher> = {}): Promise<Voucher> {
    const deadline = fields.deadline ?? (await now(chain)) + 3600n;
    return makeVoucher(chain, ctx, { deadline, nonce: ownerNonceOf(deadline, seq++), ...fields });
  }
  async function ownerSigned(ctx: Ctx, v: Voucher): Promise<Entry> {
    const signature = await chain.owner.signTypedData({ account: chain.owner.account, domain: ctx.domain, types: voucherTypes, primaryType: "Voucher", message: v });
    return { voucher: v, signature };
  }
  const redeem = (ctx: Ctx, e: Entry, account = chain.merchant.account) =>
    ctx.settlement.write.redeem([ctx.token.address, encodeEntry(e)], { account });
  const cancel = (ctx: Ctx, nonces: bigint[], account: LocalAccount | typeof chain.owner.account) =>
    ctx.settlement.write.cancel([chain.owner.account.address, ctx.agent.address, nonces], { account });
  const state = (ctx: Ctx, nonce: bigint) => ctx.settlement.read.nonceState([chain.owner.account.address, ctx.agent.address, nonce]);
  const credit = (ctx: Ctx, who: Hex = chain.merchant.account.address) => ctx.settlement.read.creditOf([who, ctx.token.address]);
  const freeze = (ctx: Ctx, frozen: boolean, tokens: Hex[] = [ctx.token.address]) =>
    ctx.settlement.write.setFrozen([ctx.agent.address, tokens, frozen], { account: chain.owner.account });

  // ------------------------------------------------------------------ item 16

  describe("16: a stolen agent key cannot cancel what the owner signed", () => {
    it("the agent's key cannot cancel an owner-signed voucher, before or after a freeze", async () => {
      const ctx = await load();
      const e = await ownerSigned(ctx, await ownerVoucher(ctx));
      await expectRevert(cancel(ctx, [e.voucher.nonce], ctx.agent), "NotNonceSigner");
      await freeze(ctx, true);
      await expectRevert(cancel(ctx, [e.voucher.nonce], ctx.agent), "AgentFrozen");
      expect(await state(ctx, e.voucher.nonce)).to.equal(0);
      await redeem(ctx, e); // the owner-signed voucher survives the freeze
      expect(await credit(ctx)).to.equal(e.voucher.cap);
    });

    it("the attack as found: the frozen key cancels the owner's sequential nonces in bulk; now refused, nothing cancelled", async () => {
      const ctx = await load();
      const t = await now(chain);
      const nonces = Array.from({ length: 256 }, (_, i) => ownerNonceOf(t + 3600n, BigInt(i)));
      await freeze(ctx, true);
      await expectRevert(cancel(ctx, nonces, ctx.agent), "AgentFrozen");
      await freeze(ctx, false);
      await expectRevert(cancel(ctx, nonces, ctx.agent), "NotNonceSigner");
      for (const n of [nonces[0]!, nonces[255]!]) expect(await state(ctx, n)).to.equal(0);
    });

    it("a frozen agent's key cancels nothing, not even its own vouchers, on any of its buckets; unfrozen, it cancels its own at once", async () => {
      const ctx = await load();
      const v = await makeVoucher(chain, ctx);
      const e = await signed(ctx.agent, ctx.domain, v);
      // frozen on another token only: still frozen for cancels (nonces are not per token)
      const other = await chain.viem.deployContract("TestStablecoin");
      await freeze(ctx, true, [other.address]);
      expect(await ctx.settlement.read.frozenBucketsOf([chain.owner.account.address, ctx.agent.address])).to.equal(1n);
      await expectRevert(cancel(ctx, [v.nonce], ctx.agent), "AgentFrozen");
      // freezing twice counts once; unfreezing a bucket that is not frozen changes nothing
      await freeze(ctx, true, [other.address, other.address]);
      await freeze(ctx, false, [ctx.token.address]);
      expect(await ctx.settlement.read.frozenBucketsOf([chain.owner.account.address, ctx.agent.address])).to.equal(1n);
      await freeze(ctx, false, [other.address]);
      expect(await ctx.settlement.read.frozenBucketsOf([chain.owner.account.address, ctx.agent.address])).to.equal(0n);
      await cancel(ctx, [v.nonce], ctx.agent);
      expect(await state(ctx, v.nonce)).to.equal(1);
      await expectRevert(redeem(ctx, e), "NonceUsed");
      const [log] = await ctx.settlement.getEvents.NonceCancelled();
      expect(log!.args).to.include({ nonce: v.nonce, by: ctx.agent.address });
    });

    it("the same voucher signed by both owner and agent redeems once: the nonce says whose signature counts", async () => {
      const ctx = await load();
      // an agent nonce: the owner's signature is refused, on every path
      const v = await makeVoucher(chain, ctx);
      const byOwner = await ownerSigned(ctx, v);
      await expectRevert(redeem(ctx, byOwner), "InvalidSignature");
      await expectRevert(ctx.settlement.write.redeemCompact({ account: chain.merchant.account, dataSuffix: encodeCompact(byOwner) }), "InvalidSignature");
      await expectRevert(ctx.settlement.write.redeemBatch([ctx.token.address, false, encodeBatch([byOwner])], { account: chain.merchant.account }), "InvalidSignature");
      await redeem(ctx, await signed(ctx.agent, ctx.domain, v));
      // an owner nonce: the agent's signature is refused
      const w = await ownerVoucher(ctx);
      const byAgent = await signed(ctx.agent, ctx.domain, w);
      await expectRevert(redeem(ctx, byAgent), "InvalidSignature");
      await expectRevert(ctx.settlement.write.redeemCompact({ account: chain.merchant.account, dataSuffix: encodeCompact(byAgent) }), "InvalidSignature");
      await expectRevert(ctx.settlement.write.redeemBatch([ctx.token.address, false, encodeBatch([byAgent])], { account: chain.merchant.account }), "InvalidSignature");
      await ctx.settlement.write.redeemCompact({ account: chain.merchant.account, dataSuffix: encodeCompact(await ownerSigned(ctx, w)) });
      expect(await credit(ctx)).to.equal(v.cap + w.cap);
      // a refund re-checks the signature the same way
      await expectRevert(ctx.settlement.write.refund([w, 1n, true, byAgent.signature], { account: chain.merchant.account }), "InvalidSignature");
      await ctx.settlement.write.refund([w, 1n, true, (await ownerSigned(ctx, w)).signature], { account: chain.merchant.account });
      // and so does a call voucher
      const vault = await chain.viem.deployContract("MockVault4626", [ctx.token.address]);
      const callData = encodeFunctionData({ abi: vault.abi, functionName: "deposit", args: [5n, chain.owner.account.address] });
      const c = await ownerVoucher(ctx, { cap: 5n, callTarget: vault.address, callDataHash: keccak256(callData) });
      const callByAgent = await signVoucher(ctx.agent, ctx.domain, c);
      await expectRevert(ctx.settlement.write.redeemAndCall([c, 5n, callData, callByAgent], { account: chain.merchant.account }), "InvalidSignature");
      await ctx.settlement.write.redeemAndCall([c, 5n, callData, (await ownerSigned(ctx, c)).signature], { account: chain.merchant.account });
      expect(await vault.read.balanceOf([chain.owner.account.address])).to.equal(5n);
    });

    it("an owner nonce must carry the voucher's deadline, on every path", async () => {
      const ctx = await load();
      const t = await now(chain);
      const v = await makeVoucher(chain, ctx, { deadline: t + 3600n, nonce: ownerNonceOf(t + 3599n, seq++) });
      const e = await ownerSigned(ctx, v);
      await expectRevert(redeem(ctx, e), "OwnerNonceMismatch");
      await expectRevert(ctx.settlement.write.redeemCompact({ account: chain.merchant.account, dataSuffix: encodeCompact(e) }), "OwnerNonceMismatch");
      await expectRevert(ctx.settlement.write.redeemBatch([ctx.token.address, true, encodeBatch([e])], { account: chain.merchant.account }), "OwnerNonceMismatch");
      await expectRevert(ctx.settlement.write.redeemAndPay([ctx.token.address, encodeEntry(e)], { account: chain.merchant.account }), "OwnerNonceMismatch");
      // the bare flag (no deadline in it) is no owner nonce either
      const bare = await ownerSigned(ctx, await makeVoucher(chain, ctx, { nonce: OWNER_NONCE_FLAG }));
      await expectRevert(redeem(ctx, bare), "OwnerNonceMismatch");
      expect(await state(ctx, v.nonce)).to.equal(0);
    });
  });

  // ------------------------------------------------------------------ item 15

  describe("15: the owner cannot cancel a voucher it handed out", () => {
    it("an owner-signed voucher inside its window cannot be cancelled until it expires; the merchant redeems it at its deadline", async () => {
      const ctx = await load();
      const t = await now(chain);
      const e = await ownerSigned(ctx, await ownerVoucher(ctx, { deadline: t + DAY }));
      await expectRevert(cancel(ctx, [e.voucher.nonce], chain.owner.account), "VoucherLive");
      await chain.networkHelpers.time.setNextBlockTimestamp(e.voucher.deadline);
      await expectRevert(cancel(ctx, [e.voucher.nonce], chain.owner.account), "VoucherLive");
      await chain.networkHelpers.time.setNextBlockTimestamp(e.voucher.deadline);
      await redeem(ctx, e);
      expect(await credit(ctx)).to.equal(e.voucher.cap);
    });

    it("the owner cancels its own voucher before its window opens (at once) and after its deadline", async () => {
      const ctx = await load();
      const t = await now(chain);
      // not yet valid: its window opens at deadline - MAX_VOUCHER_LIFETIME
      const future = await ownerSigned(ctx, await ownerVoucher(ctx, { deadline: t + 2n * DAY }));
      await cancel(ctx, [future.voucher.nonce], chain.owner.account);
      expect(await state(ctx, future.voucher.nonce)).to.equal(1);
      await chain.networkHelpers.time.increase(DAY + 60n);
      await expectRevert(redeem(ctx, future), "NonceUsed");
      // expired: cancelling is allowed (and changes nothing a merchant could use)
      const past = await ownerVoucher(ctx, { deadline: (await now(chain)) + 10n });
      await chain.networkHelpers.time.increase(60n);
      await cancel(ctx, [past.nonce], chain.owner.account);
      expect(await state(ctx, past.nonce)).to.equal(1);
    });

    it("the owner cannot cancel an agent-signed voucher (its tool is the freeze, which it still has at once)", async () => {
      const ctx = await load();
      const v = await makeVoucher(chain, ctx);
      const e = await signed(ctx.agent, ctx.domain, v);
      await expectRevert(cancel(ctx, [v.nonce], chain.owner.account), "NotNonceSigner");
      await freeze(ctx, true);
      await expectRevert(redeem(ctx, e), "AgentFrozen");
      await freeze(ctx, false);
      await redeem(ctx, e);
    });

    it("third parties and merchants cancel nothing; a mixed list is all or nothing", async () => {
      const ctx = await load();
      const agentNonce = (await makeVoucher(chain, ctx)).nonce;
      const ownerNonce = (await ownerVoucher(ctx, { deadline: (await now(chain)) + 3n * DAY })).nonce;
      for (const who of [chain.other.account, chain.merchant.account]) {
        await expectRevert(cancel(ctx, [agentNonce], who), "NotOwnerOrAgent");
        await expectRevert(cancel(ctx, [ownerNonce], who), "NotOwnerOrAgent");
      }
      await expectRevert(cancel(ctx, [ownerNonce, agentNonce], chain.owner.account), "NotNonceSigner");
      await expectRevert(cancel(ctx, [agentNonce, ownerNonce], ctx.agent), "NotNonceSigner");
      expect([await state(ctx, agentNonce), await state(ctx, ownerNonce)]).to.deep.equal([0, 0]);
    });
  });

  // ------------------------------------------------------------------ item 14

  describe("14: the bucket pays valid vouchers first come; nothing but a voucher outruns one", () => {
    it("the attack as found: the owner's own voucher to a second address drains the bucket first; the merchant's then fails (documented: not guaranteed)", async () => {
      const ctx = await load();
      const t = await now(chain);
      const [bucket] = await ctx.settlement.read.bucketOf([chain.owner.account.address, ctx.agent.address, ctx.token.address]);
      const merchants = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx, { cap: 60_000_000n, deadline: t + DAY }));
      // chain.other stands for any address the owner controls: to the contract it is a merchant like any other
      const drain = await ownerSigned(ctx, await ownerVoucher(ctx, { merchant: chain.other.account.address, cap: bucket, ref: keccak256(toHex("drain")) }));
      await redeem(ctx, drain, chain.other.account);
      await expectRevert(redeem(ctx, merchants), "InsufficientBalance");
      // what is redeemed is the redeemer's: the owner cannot take a merchant's credit back
      expect(await credit(ctx, chain.other.account.address)).to.equal(bucket);
    });

    it("a merchant that redeems first is paid, and the owner's later drain gets only what is left", async () => {
      const ctx = await load();
      const [bucket] = await ctx.settlement.read.bucketOf([chain.owner.account.address, ctx.agent.address, ctx.token.address]);
      const merchants = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx, { cap: 60_000_000n }));
      await redeem(ctx, merchants);
      const drain = await ownerSigned(ctx, await ownerVoucher(ctx, { merchant: chain.other.account.address, cap: bucket }));
      await expectRevert(redeem(ctx, drain, chain.other.account), "InsufficientBalance");
      await redeem(ctx, { ...drain, amount: bucket - 60_000_000n }, chain.other.account);
      expect(await credit(ctx)).to.equal(60_000_000n);
      await ctx.settlement.write.withdrawCredit([ctx.token.address, 60_000_000n, chain.merchant.account.address], { account: chain.merchant.account });
    });

    it("nothing else outruns a valid owner-signed voucher: a release waits for it, withdraw reads only the main bucket, neither a cancel nor a freeze touches it", async () => {
      const ctx = await load();
      const o = chain.owner.account;
      const t = await now(chain);
      const e = await ownerSigned(ctx, await ownerVoucher(ctx, { cap: 100_000_000n, deadline: t + DAY }));
      await ctx.settlement.write.scheduleRelease([ctx.token.address, ctx.agent.address, 100_000_000n], { account: o });
      const [, readyAt] = await ctx.settlement.read.pendingRelease([o.address, ctx.agent.address, ctx.token.address]);
      expect(readyAt > e.voucher.deadline).to.equal(true);
      await expectRevert(ctx.settlement.write.withdraw([ctx.token.address, 1n, o.address], { account: o }), "InsufficientBalance");
      await freeze(ctx, true);
      await expectRevert(cancel(ctx, [e.voucher.nonce], o), "VoucherLive");
      await expectRevert(cancel(ctx, [e.voucher.nonce], ctx.agent), "AgentFrozen");
      // at the voucher's deadline: the release is still not ready, and the merchant redeems
      await chain.networkHelpers.time.setNextBlockTimestamp(e.voucher.deadline);
      await expectRevert(ctx.settlement.write.release([ctx.token.address, ctx.agent.address], { account: o }), "ReleaseNotReady");
      await redeem(ctx, e);
      expect(await credit(ctx)).to.equal(100_000_000n);
      const [main] = await ctx.settlement.read.bucketOf([o.address, zeroAddress, ctx.token.address]);
      expect(main).to.equal(0n);
    });
  });
});
