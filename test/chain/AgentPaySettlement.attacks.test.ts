// Attack tests for AgentPaySettlement: one or more tests per attack listed in issue 6.
import { expect } from "chai";
import { concatHex, encodeFunctionData, keccak256, numberToHex, parseSignature, serializeSignature, toHex, zeroAddress, size, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { encodeBatch, encodeEntry, signVoucher, FLAG_SIGNER, type Entry, type Voucher } from "./helpers/voucher.ts";
import { DAY, createChain, deploySettlement, expectRevert, loadSettlement, makeOwnerVoucher, makeVoucher, now, signed, type Chain, type Settlement } from "./fixture.ts";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n; // secp256k1 order

describe("AgentPaySettlement attacks", () => {
  let chain: Chain;
  before(async () => {
    chain = await createChain();
  });
  const load = () => loadSettlement(chain);
  type Ctx = Settlement;
  const redeem = (ctx: Ctx, e: Entry, account = chain.merchant.account) =>
    ctx.settlement.write.redeem([ctx.token.address, encodeEntry(e)], { account });
  const credit = (ctx: Ctx) => ctx.settlement.read.creditOf([chain.merchant.account.address, ctx.token.address]);

  // ------------------------------------------------------------------ replay

  describe("replay", () => {
    it("in one transaction (a merchant contract redeeming the same voucher twice)", async () => {
      const ctx = await load();
      const mc = await chain.viem.deployContract("Multicaller");
      const v = await makeVoucher(chain, ctx, { merchant: mc.address });
      const e = await signed(ctx.agent, ctx.domain, v);
      const call = encodeFunctionData({ abi: ctx.settlement.abi, functionName: "redeem", args: [ctx.token.address, encodeEntry(e)] });
      await expectRevert(mc.write.multicall([ctx.settlement.address, [call, call]]), "NonceUsed");
      await mc.write.multicall([ctx.settlement.address, [call]]);
      expect(await ctx.settlement.read.creditOf([mc.address, ctx.token.address])).to.equal(v.cap);
    });

    it("in one batch (the same voucher twice)", async () => {
      const ctx = await load();
      const e = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx));
      await expectRevert(
        ctx.settlement.write.redeemBatch([ctx.token.address, false, encodeBatch([e, e])], { account: chain.merchant.account }),
        "NonceUsed",
      );
      expect(await credit(ctx)).to.equal(0n);
    });

    it("duplicate nonces inside one batch (two different vouchers, same nonce)", async () => {
      const ctx = await load();
      const a = await makeVoucher(chain, ctx, { cap: 1n });
      const b = await makeVoucher(chain, ctx, { cap: 2n, nonce: a.nonce });
      const batch = encodeBatch([await signed(ctx.agent, ctx.domain, a), await signed(ctx.agent, ctx.domain, b)]);
      await expectRevert(ctx.settlement.write.redeemBatch([ctx.token.address, false, batch], { account: chain.merchant.account }), "NonceUsed");
      // also when the signer is repeated explicitly (cache flushed and reloaded in between)
      const explicit = concatHex([encodeEntry(await signed(ctx.agent, ctx.domain, a)), encodeEntry(await signed(ctx.agent, ctx.domain, b))]);
      await expectRevert(ctx.settlement.write.redeemBatch([ctx.token.address, false, explicit], { account: chain.merchant.account }), "NonceUsed");
      // and across a signer switch: A(agent) B(agent2) A'(agent, same nonce as A)
      await ctx.settlement.write.deposit([ctx.token.address, ctx.agent2.address, 10n], { account: chain.owner.account });
      const c = await makeVoucher(chain, { token: ctx.token, agent: ctx.agent2 }, { cap: 3n });
      const mixed = encodeBatch([await signed(ctx.agent, ctx.domain, a), await signed(ctx.agent2, ctx.domain, c), await signed(ctx.agent, ctx.domain, b)]);
      await expectRevert(ctx.settlement.write.redeemBatch([ctx.token.address, false, mixed], { account: chain.merchant.account }), "NonceUsed");
    });

    it("across transactions", async () => {
      const ctx = await load();
      const e = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx));
      await redeem(ctx, e);
      await expectRevert(redeem(ctx, e), "NonceUsed");
      await expectRevert(ctx.settlement.write.redeemBatch([ctx.token.address, false, encodeBatch([e])], { account: chain.merchant.account }), "NonceUsed");
      await expectRevert(ctx.settlement.write.redeemAndPay([ctx.token.address, encodeEntry(e)], { account: chain.merchant.account }), "NonceUsed");
    });

    it("across deployments on the same chain", async () => {
      const ctx = await load();
      const other = await chain.viem.deployContract("AgentPaySettlement", [DAY, DAY]);
      await ctx.token.write.approve([other.address, 10_000_000n], { account: chain.owner.account });
      await other.write.deposit([ctx.token.address, ctx.agent.address, 10_000_000n], { account: chain.owner.account });
      const e = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx));
      await expectRevert(other.write.redeem([ctx.token.address, encodeEntry(e)], { account: chain.merchant.account }), "InvalidSignature");
      await redeem(ctx, e);
    });

    it("across chains (same deployer, same address, different chain id)", async () => {
      const chainA = await createChain(31337);
      const chainB = await createChain(1337);
      const a = await deploySettlement(chainA);
      const b = await deploySettlement(chainB);
      expect(a.settlement.address).to.equal(b.settlement.address);
      expect(a.chainId).to.not.equal(b.chainId);
      const v = await makeVoucher(chainA, a);
      const e = await signed(a.agent, a.domain, v);
      await expectRevert(b.settlement.write.redeem([b.token.address, encodeEntry(e)], { account: chainB.merchant.account }), "InvalidSignature");
      await a.settlement.write.redeem([a.token.address, encodeEntry(e)], { account: chainA.merchant.account });
    });
  });

  // ------------------------------------------------------------------ signatures

  describe("signatures", () => {
    it("malleable: the high-s twin of a valid signature is rejected", async () => {
      const ctx = await load();
      const v = await makeVoucher(chain, ctx);
      const sig = parseSignature(await signVoucher(ctx.agent, ctx.domain, v));
      const highS = serializeSignature({ r: sig.r, s: numberToHex(N - BigInt(sig.s), { size: 32 }), yParity: sig.yParity === 0 ? 1 : 0 });
      // the twin does recover to the agent with a raw ecrecover, but the contract refuses it
      await expectRevert(redeem(ctx, { voucher: v, signature: highS }), "InvalidSignature");
      await redeem(ctx, { voucher: v, signature: serializeSignature(sig) });
    });

    it("malformed: 64-byte compact, 66-byte, v = 0/1/29, zero r or s all fail", async () => {
      const ctx = await load();
      const v = await makeVoucher(chain, ctx);
      const good = await signVoucher(ctx.agent, ctx.domain, v);
      const { r, s, yParity } = parseSignature(good);
      const vs = numberToHex(BigInt(s) | (BigInt(yParity) << 255n), { size: 32 });
      const bad: Hex[] = [
        concatHex([r, vs]), // EIP-2098 compact form
        concatHex([good, "0x00"]),
        concatHex([r, s, "0x00"]),
        concatHex([r, s, "0x01"]),
        concatHex([r, s, "0x1d"]),
        concatHex([numberToHex(0n, { size: 32 }), s, "0x1b"]),
        concatHex([r, numberToHex(0n, { size: 32 }), "0x1b"]),
        "0x",
      ];
      for (const signature of bad) {
        await expectRevert(redeem(ctx, { voucher: v, signature }), "InvalidSignature");
      }
      await redeem(ctx, { voucher: v, signature: good });
    });

    it("a garbage signature recovering to zero cannot spend a zero owner's or zero agent's bucket", async () => {
      const ctx = await load();
      const garbage = concatHex([numberToHex(0n, { size: 32 }), numberToHex(0n, { size: 32 }), "0x1b"]);
      for (const fields of [{ owner: zeroAddress }, { agent: zeroAddress }, { owner: zeroAddress, agent: zeroAddress }]) {
        const v = await makeVoucher(chain, ctx, fields);
        await expectRevert(redeem(ctx, { voucher: v, signature: garbage }), "ZeroAddress");
        await expectRevert(
          ctx.settlement.write.redeemBatch([ctx.token.address, false, encodeBatch([{ voucher: v, signature: garbage }])], { account: chain.merchant.account }),
          "ZeroAddress",
        );
      }
      // and with real owner/agent, a signature that makes ecrecover return 0 is just invalid
      const v = await makeVoucher(chain, ctx);
      await expectRevert(redeem(ctx, { voucher: v, signature: garbage }), "InvalidSignature");
    });

    it("an ERC-1271 wallet that always answers yes can only spend its own buckets", async () => {
      const ctx = await load();
      const yes = await chain.viem.deployContract("AlwaysYesWallet");
      const junk = concatHex([keccak256(toHex("junk")), "0x1234"]);
      // as the agent of the victim: the victim never funded a bucket for it
      const v1 = await makeVoucher(chain, ctx, { agent: yes.address });
      await expectRevert(redeem(ctx, { voucher: v1, signature: junk }), "InsufficientBalance");
      // as the owner, naming the victim's agent: that is the wallet's own (empty) bucket
      const v2 = await makeOwnerVoucher(chain, ctx, { owner: yes.address });
      await expectRevert(redeem(ctx, { voucher: v2, signature: junk }), "InsufficientBalance");
      // it cannot sign for the victim's own (owner, agent) bucket
      const v3 = await makeVoucher(chain, ctx);
      await expectRevert(redeem(ctx, { voucher: v3, signature: junk }), "InvalidSignature");
      // once the victim does fund a bucket for it, that bucket (and only it) is at risk: that is the owner's choice
      await ctx.settlement.write.deposit([ctx.token.address, yes.address, 5n], { account: chain.owner.account });
      const v4 = await makeVoucher(chain, ctx, { agent: yes.address, cap: 5n });
      await redeem(ctx, { voucher: v4, signature: junk });
      const v5 = await makeVoucher(chain, ctx, { agent: yes.address, cap: 1n });
      await expectRevert(redeem(ctx, { voucher: v5, signature: junk }), "InsufficientBalance");
      expect((await ctx.settlement.read.bucketOf([chain.owner.account.address, ctx.agent.address, ctx.token.address]))[0]).to.equal(100_000_000n);
    });
  });

  // ------------------------------------------------------------------ merchant and fields

  describe("merchant binding and signed fields", () => {
    it("the wrong merchant cannot redeem, and a third party cannot front-run the merchant", async () => {
      const ctx = await load();
      const e = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx));
      await expectRevert(redeem(ctx, e, chain.other.account), "InvalidSignature");
      await expectRevert(
        ctx.settlement.write.redeemBatch([ctx.token.address, true, encodeBatch([e])], { account: chain.other.account }),
        "InvalidSignature",
      );
      await expectRevert(ctx.settlement.write.redeemAndPay([ctx.token.address, encodeEntry(e)], { account: chain.other.account }), "InvalidSignature");
      await redeem(ctx, e);
    });

    it("every signed field altered by the merchant invalidates the voucher", async () => {
      const ctx = await load();
      await ctx.settlement.write.deposit([ctx.token.address, ctx.agent2.address, 100_000_000n], { account: chain.owner.account });
      const other = await chain.viem.deployContract("TestStablecoin");
      const v = await makeVoucher(chain, ctx, { cap: 1_000_000n });
      const sig = await signVoucher(ctx.agent, ctx.domain, v);
      const t = await now(chain);
      const alterations: Partial<Voucher>[] = [
        { owner: chain.owner2.account.address },
        { agent: ctx.agent2.address },
        { cap: 1_000_001n },
        { deadline: v.deadline + 1n },
        { deadline: t + 10n },
        { nonce: v.nonce + 1n },
        { ref: keccak256(toHex("another order")) },
      ];
      for (const alt of alterations) {
        await expectRevert(redeem(ctx, { voucher: { ...v, ...alt }, signature: sig }), "InvalidSignature");
      }
      // the token is bound too (redeeming against another token)
      await expectRevert(
        ctx.settlement.write.redeem([other.address, encodeEntry({ voucher: v, signature: sig })], { account: chain.merchant.account }),
        "InvalidSignature",
      );
      // and the merchant: the voucher names the merchant, the caller must be it
      await expectRevert(redeem(ctx, { voucher: { ...v, merchant: chain.other.account.address }, signature: sig }, chain.other.account), "InvalidSignature");
      // call target and calldata hash: a plain voucher cannot be used as a call voucher and vice versa
      const vault = await chain.viem.deployContract("MockVault4626", [ctx.token.address]);
      const data = encodeFunctionData({ abi: vault.abi, functionName: "deposit", args: [1_000_000n, chain.merchant.account.address] });
      await expectRevert(
        ctx.settlement.write.redeemAndCall([{ ...v, callTarget: vault.address, callDataHash: keccak256(data) }, 1_000_000n, data, sig], {
          account: chain.merchant.account,
        }),
        "InvalidSignature",
      );
      const cv = await makeVoucher(chain, ctx, { callTarget: vault.address, callDataHash: keccak256(data) });
      const csig = await signVoucher(ctx.agent, ctx.domain, cv);
      const data2 = encodeFunctionData({ abi: vault.abi, functionName: "deposit", args: [1_000_000n, chain.other.account.address] });
      await expectRevert(
        ctx.settlement.write.redeemAndCall([{ ...cv, callDataHash: keccak256(data2) }, 1_000_000n, data2, csig], { account: chain.merchant.account }),
        "InvalidSignature",
      );
      await expectRevert(
        ctx.settlement.write.redeemAndCall([{ ...cv, callTarget: other.address }, 1_000_000n, data, csig], { account: chain.merchant.account }),
        "InvalidSignature",
      );
      // the untouched voucher still works
      await redeem(ctx, { voucher: v, signature: sig });
    });

    it("a third party front-running the permit cannot block depositWithPermit", async () => {
      const ctx = await load();
      const o = chain.owner2.account;
      await ctx.token.write.mint([o.address, 5_000_000n]);
      const deadline = (await now(chain)) + DAY;
      const sig = await chain.owner2.signTypedData({
        account: o,
        domain: { name: "Test USD", version: "1", chainId: ctx.chainId, verifyingContract: ctx.token.address },
        types: { Permit: [{ name: "owner", type: "address" }, { name: "spender", type: "address" }, { name: "value", type: "uint256" }, { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" }] },
        primaryType: "Permit",
        message: { owner: o.address, spender: ctx.settlement.address, value: 5_000_000n, nonce: 0n, deadline },
      });
      const { r, s, v } = parseSignature(sig);
      // the attacker submits the permit first (the nonce is consumed)
      await ctx.token.write.permit([o.address, ctx.settlement.address, 5_000_000n, deadline, Number(v), r, s], { account: chain.other.account });
      await ctx.settlement.write.depositWithPermit([ctx.token.address, ctx.agent.address, 5_000_000n, deadline, Number(v), r, s], { account: o });
      expect((await ctx.settlement.read.bucketOf([o.address, ctx.agent.address, ctx.token.address]))[0]).to.equal(5_000_000n);
    });
  });

  // ------------------------------------------------------------------ terms

  describe("terms", () => {
    it("redeems at the deadline, fails at deadline + 1, and fails when the deadline is beyond the lifetime", async () => {
      const ctx = await load();
      const t = await now(chain);
      const v = await makeVoucher(chain, ctx, { deadline: t + 100n });
      const e = await signed(ctx.agent, ctx.domain, v);
      const late = await makeVoucher(chain, ctx, { deadline: t + 100n });
      const le = await signed(ctx.agent, ctx.domain, late);
      await chain.networkHelpers.time.setNextBlockTimestamp(t + 100n);
      await redeem(ctx, e);
      await chain.networkHelpers.time.setNextBlockTimestamp(t + 101n);
      await expectRevert(redeem(ctx, le), "VoucherExpired");
      await chain.networkHelpers.mine();
      const t2 = await now(chain);
      const far = await makeVoucher(chain, ctx, { deadline: t2 + DAY + 10n });
      await expectRevert(redeem(ctx, await signed(ctx.agent, ctx.domain, far)), "VoucherNotYetValid");
    });

    it("over the cap, zero amount and zero cap are refused", async () => {
      const ctx = await load();
      const v = await makeVoucher(chain, ctx, { cap: 1_000_000n });
      await expectRevert(redeem(ctx, await signed(ctx.agent, ctx.domain, v, 1_000_001n)), "OverCap");
      await expectRevert(redeem(ctx, await signed(ctx.agent, ctx.domain, v, 0n)), "ZeroAmount");
      const z = await makeVoucher(chain, ctx, { cap: 0n });
      await expectRevert(redeem(ctx, await signed(ctx.agent, ctx.domain, z)), "ZeroAmount");
      await redeem(ctx, await signed(ctx.agent, ctx.domain, v, 1_000_000n));
    });

    it("integer truncation: amounts above 2**128 are never truncated, balances never exceed 2**128 - 1", async () => {
      const ctx = await load();
      const big = 2n ** 128n + 5n;
      const v = await makeVoucher(chain, ctx, { cap: big });
      // an amount of 2**128 + 5 would be 5 if truncated to uint128: it must fail on the balance instead
      await expectRevert(redeem(ctx, await signed(ctx.agent, ctx.domain, v)), "InsufficientBalance");
      await expectRevert(redeem(ctx, await signed(ctx.agent, ctx.domain, v, 2n ** 128n + 1n)), "InsufficientBalance");
      await expectRevert(
        ctx.settlement.write.redeemBatch([ctx.token.address, false, encodeBatch([await signed(ctx.agent, ctx.domain, v)])], { account: chain.merchant.account }),
        "InsufficientBalance",
      );
      // deposits that would push a bucket past 2**128 - 1
      await ctx.token.write.mint([chain.owner.account.address, 2n ** 128n]);
      await expectRevert(
        ctx.settlement.write.deposit([ctx.token.address, ctx.agent.address, 2n ** 128n - 100n], { account: chain.owner.account }),
        "AmountTooLarge",
      );
      // a deadline that does not fit the packed uint40 cannot be smuggled in: truncated, the digest differs
      const t = await now(chain);
      const d = await makeVoucher(chain, ctx, { deadline: (1n << 40n) + t + 60n });
      const sig = await signVoucher(ctx.agent, ctx.domain, d);
      await expectRevert(redeem(ctx, { voucher: { ...d, deadline: t + 60n }, signature: sig }), "InvalidSignature");
    });

    it("malformed packed data is refused (truncated, trailing bytes, unknown flags, no signer)", async () => {
      const ctx = await load();
      const e = encodeEntry(await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx)));
      const s = (hex: Hex) => ctx.settlement.write.redeem([ctx.token.address, hex], { account: chain.merchant.account });
      await expectRevert(s(e.slice(0, e.length - 2) as Hex), "MalformedVouchers");
      await expectRevert(s(concatHex([e, "0x00"])), "MalformedVouchers");
      await expectRevert(s(concatHex([numberToHex(FLAG_SIGNER | 0x08, { size: 1 }), `0x${e.slice(4)}`])), "MalformedVouchers");
      await expectRevert(s(concatHex(["0x00", `0x${e.slice(4 + 80)}`])), "MalformedVouchers");
      await expectRevert(s("0x"), "MalformedVouchers");
      await expectRevert(ctx.settlement.write.redeemBatch([ctx.token.address, false, "0x"], { account: chain.merchant.account }), "MalformedVouchers");
      await expectRevert(
        ctx.settlement.write.redeemBatch([ctx.token.address, false, concatHex([e, e.slice(0, 100) as Hex])], { account: chain.merchant.account }),
        "MalformedVouchers",
      );
      expect(size(e)).to.equal(1 + 40 + 32 + 5 + 32 + 32 + 65);
    });
  });

  // ------------------------------------------------------------------ buckets

  describe("buckets", () => {
    it("an agent cannot spend another agent's bucket, the owner's main bucket, or another owner's bucket", async () => {
      const ctx = await load();
      await ctx.settlement.write.deposit([ctx.token.address, ctx.agent2.address, 50_000_000n], { account: chain.owner.account });
      await ctx.settlement.write.deposit([ctx.token.address, zeroAddress, 50_000_000n], { account: chain.owner.account });
      // agent signs a voucher naming agent2
      const v1 = await makeVoucher(chain, ctx, { agent: ctx.agent2.address });
      await expectRevert(redeem(ctx, await signed(ctx.agent, ctx.domain, v1)), "InvalidSignature");
      // agent signs a voucher naming the main bucket (agent = 0)
      const v2 = await makeVoucher(chain, ctx, { agent: zeroAddress });
      await expectRevert(redeem(ctx, await signed(ctx.agent, ctx.domain, v2)), "ZeroAddress");
      // agent signs naming itself as owner (the "owner's bucket" of itself): that is its own empty bucket
      const v3 = await makeOwnerVoucher(chain, ctx, { owner: ctx.agent.address, agent: ctx.agent2.address });
      await expectRevert(redeem(ctx, await signed(ctx.agent, ctx.domain, v3)), "InsufficientBalance");
      // another owner who funded a different agent
      await ctx.token.write.mint([chain.owner2.account.address, 10_000_000n]);
      await ctx.token.write.approve([ctx.settlement.address, 10_000_000n], { account: chain.owner2.account });
      await ctx.settlement.write.deposit([ctx.token.address, ctx.agent2.address, 10_000_000n], { account: chain.owner2.account });
      const v4 = await makeVoucher(chain, ctx, { owner: chain.owner2.account.address, agent: ctx.agent2.address });
      await expectRevert(redeem(ctx, await signed(ctx.agent, ctx.domain, v4)), "InvalidSignature");
      // the agent spends at most its own bucket
      const v5 = await makeVoucher(chain, ctx, { cap: 100_000_001n });
      await expectRevert(redeem(ctx, await signed(ctx.agent, ctx.domain, v5)), "InsufficientBalance");
      const [b2] = await ctx.settlement.read.bucketOf([chain.owner.account.address, ctx.agent2.address, ctx.token.address]);
      const [main] = await ctx.settlement.read.bucketOf([chain.owner.account.address, zeroAddress, ctx.token.address]);
      expect([b2, main]).to.deep.equal([50_000_000n, 50_000_000n]);
    });

    it("nonce griefing: third parties and merchants cannot burn nonces; nonce spaces are per (owner, agent)", async () => {
      const ctx = await load();
      const v = await makeVoucher(chain, ctx);
      const e = await signed(ctx.agent, ctx.domain, v);
      await expectRevert(ctx.settlement.write.cancel([v.owner, v.agent, [v.nonce]], { account: chain.other.account }), "NotOwnerOrAgent");
      await expectRevert(ctx.settlement.write.cancel([v.owner, v.agent, [v.nonce]], { account: chain.merchant.account }), "NotOwnerOrAgent");
      // a failed redemption (wrong merchant) does not consume the nonce
      await expectRevert(redeem(ctx, e, chain.other.account), "InvalidSignature");
      expect(await ctx.settlement.read.nonceState([v.owner, v.agent, v.nonce])).to.equal(0);
      // owner2 using the same nonce with the same agent does not touch owner's nonce space
      await ctx.token.write.mint([chain.owner2.account.address, 10_000_000n]);
      await ctx.token.write.approve([ctx.settlement.address, 10_000_000n], { account: chain.owner2.account });
      await ctx.settlement.write.deposit([ctx.token.address, ctx.agent.address, 10_000_000n], { account: chain.owner2.account });
      const w = { ...v, owner: chain.owner2.account.address };
      await redeem(ctx, await signed(ctx.agent, ctx.domain, w));
      expect(await ctx.settlement.read.nonceState([v.owner, v.agent, v.nonce])).to.equal(0);
      await redeem(ctx, e);
    });

    it("a withdrawal racing a redemption: the merchant always wins within the delay", async () => {
      const ctx = await load();
      const o = chain.owner.account;
      const t = await now(chain);
      // the voucher is valid now and expires at the end of its (maximum) lifetime
      const v = await makeVoucher(chain, ctx, { cap: 60_000_000n, deadline: t + DAY });
      const e = await signed(ctx.agent, ctx.domain, v);
      // the owner tries to pull everything out right after handing out the voucher
      await ctx.settlement.write.scheduleRelease([ctx.token.address, ctx.agent.address, 100_000_000n], { account: o });
      const [, readyAt] = await ctx.settlement.read.pendingRelease([o.address, ctx.agent.address, ctx.token.address]);
      expect(readyAt >= v.deadline).to.equal(true);
      // the owner cannot execute before the voucher's deadline has passed
      await chain.networkHelpers.time.setNextBlockTimestamp(v.deadline);
      await expectRevert(ctx.settlement.write.release([ctx.token.address, ctx.agent.address], { account: o }), "ReleaseNotReady");
      // at the deadline the merchant still redeems
      await redeem(ctx, e);
      await chain.networkHelpers.time.setNextBlockTimestamp(readyAt + 1n);
      await ctx.settlement.write.release([ctx.token.address, ctx.agent.address], { account: o });
      expect((await ctx.settlement.read.bucketOf([o.address, zeroAddress, ctx.token.address]))[0]).to.equal(40_000_000n);
      expect(await credit(ctx)).to.equal(60_000_000n);
      // there is no instant path out of an agent bucket: withdraw only reads the main bucket
      await expectRevert(ctx.settlement.write.withdraw([ctx.token.address, 40_000_001n, o.address], { account: o }), "InsufficientBalance");
    });
  });

  // ------------------------------------------------------------------ hostile tokens

  describe("hostile tokens", () => {
    async function hostile(ctx: Ctx) {
      const h = await chain.viem.deployContract("ReentrantToken");
      await h.write.mint([chain.owner.account.address, 10n ** 12n]);
      await h.write.approve([ctx.settlement.address, 2n ** 256n - 1n], { account: chain.owner.account });
      await ctx.settlement.write.deposit([h.address, ctx.agent.address, 100_000_000n], { account: chain.owner.account });
      // the token itself is a depositor with a main-bucket balance, so re-entrant calls have something to try
      await h.write.mint([h.address, 10n ** 9n]);
      await h.write.approveAs([ctx.settlement.address, 2n ** 256n - 1n]);
      return h;
    }
    const REENTRANT = "0x3ee5aeb5" as Hex; // ReentrancyGuardReentrantCall()

    async function expectHookBlocked(h: { read: { lastHookSuccess: () => Promise<boolean>; lastHookResult: () => Promise<Hex>; hookCalls: () => Promise<bigint> } }) {
      expect(await h.read.hookCalls()).to.equal(1n);
      expect(await h.read.lastHookSuccess()).to.equal(false);
      expect(await h.read.lastHookResult()).to.equal(REENTRANT);
    }

    it("re-entrancy in deposit: a nested deposit is refused, no double credit", async () => {
      const ctx = await load();
      const h = await hostile(ctx);
      const nested = encodeFunctionData({ abi: ctx.settlement.abi, functionName: "deposit", args: [h.address, zeroAddress, 1_000n] });
      await h.write.arm([ctx.settlement.address, nested]);
      await ctx.settlement.write.deposit([h.address, ctx.agent.address, 5_000n], { account: chain.owner.account });
      await expectHookBlocked(h);
      expect((await ctx.settlement.read.bucketOf([chain.owner.account.address, ctx.agent.address, h.address]))[0]).to.equal(100_005_000n);
      expect((await ctx.settlement.read.bucketOf([h.address, zeroAddress, h.address]))[0]).to.equal(0n);
      expect(await h.read.balanceOf([ctx.settlement.address])).to.equal(100_005_000n);
    });

    it("re-entrancy in redeem (direct payout): a nested redemption or deposit is refused", async () => {
      const ctx = await load();
      const h = await hostile(ctx);
      const hctx = { token: h, agent: ctx.agent };
      const e1 = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, hctx));
      const e2 = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, hctx));
      // re-enter with a second voucher naming the token contract as merchant? it is the token calling: use deposit
      const nested = encodeFunctionData({ abi: ctx.settlement.abi, functionName: "deposit", args: [h.address, zeroAddress, 1_000n] });
      await h.write.arm([ctx.settlement.address, nested]);
      await ctx.settlement.write.redeemAndPay([h.address, encodeEntry(e1)], { account: chain.merchant.account });
      await expectHookBlocked(h);
      // a voucher whose merchant is the token itself, redeemed from inside the payout of another
      const v3 = await makeVoucher(chain, hctx, { merchant: h.address });
      const e3 = await signed(ctx.agent, ctx.domain, v3);
      const nested2 = encodeFunctionData({ abi: ctx.settlement.abi, functionName: "redeem", args: [h.address, encodeEntry(e3)] });
      await h.write.arm([ctx.settlement.address, nested2]);
      await ctx.settlement.write.redeemAndPay([h.address, encodeEntry(e2)], { account: chain.merchant.account });
      expect(await h.read.lastHookSuccess()).to.equal(false);
      expect(await h.read.lastHookResult()).to.equal(REENTRANT);
      expect(await ctx.settlement.read.nonceState([v3.owner, v3.agent, v3.nonce])).to.equal(0);
      expect(await h.read.balanceOf([chain.merchant.account.address])).to.equal(2_000_000n);
    });

    it("re-entrancy in batch payout and in withdraw / withdrawCredit", async () => {
      const ctx = await load();
      const h = await hostile(ctx);
      const hctx = { token: h, agent: ctx.agent };
      const batch = encodeBatch([await signed(ctx.agent, ctx.domain, await makeVoucher(chain, hctx)), await signed(ctx.agent, ctx.domain, await makeVoucher(chain, hctx))]);
      const withdrawNested = encodeFunctionData({ abi: ctx.settlement.abi, functionName: "withdraw", args: [h.address, 1_000n, h.address] });
      await ctx.settlement.write.deposit([h.address, zeroAddress, 10_000n], { account: chain.owner.account });
      await h.write.arm([ctx.settlement.address, withdrawNested]);
      await ctx.settlement.write.redeemBatch([h.address, true, batch], { account: chain.merchant.account });
      expect(await h.read.lastHookSuccess()).to.equal(false);
      expect(await h.read.lastHookResult()).to.equal(REENTRANT);
      // withdraw from the owner's main bucket, with the hook trying to withdraw again
      const again = encodeFunctionData({ abi: ctx.settlement.abi, functionName: "withdrawCredit", args: [h.address, 1n, h.address] });
      await h.write.arm([ctx.settlement.address, again]);
      await ctx.settlement.write.withdraw([h.address, 10_000n, chain.owner.account.address], { account: chain.owner.account });
      expect(await h.read.lastHookSuccess()).to.equal(false);
      expect(await h.read.lastHookResult()).to.equal(REENTRANT);
      // credit-mode batch then withdrawCredit with a nested redeem
      const b2 = encodeBatch([await signed(ctx.agent, ctx.domain, await makeVoucher(chain, hctx))]);
      await ctx.settlement.write.redeemBatch([h.address, false, b2], { account: chain.merchant.account });
      const nestedBatch = encodeFunctionData({ abi: ctx.settlement.abi, functionName: "redeemBatch", args: [h.address, false, b2] });
      await h.write.arm([ctx.settlement.address, nestedBatch]);
      await ctx.settlement.write.withdrawCredit([h.address, 1_000_000n, chain.merchant.account.address], { account: chain.merchant.account });
      expect(await h.read.lastHookSuccess()).to.equal(false);
      expect(await h.read.lastHookResult()).to.equal(REENTRANT);
      expect(await h.read.balanceOf([ctx.settlement.address])).to.equal(100_000_000n - 3_000_000n);
    });

    it("fee-on-transfer token: deposits credit what arrived; payouts keep the escrow solvent", async () => {
      const ctx = await load();
      const f = await chain.viem.deployContract("FeeOnTransferToken");
      await f.write.mint([chain.owner.account.address, 10n ** 12n]);
      await f.write.approve([ctx.settlement.address, 2n ** 256n - 1n], { account: chain.owner.account });
      await ctx.settlement.write.deposit([f.address, ctx.agent.address, 10_000_000n], { account: chain.owner.account });
      const [bal] = await ctx.settlement.read.bucketOf([chain.owner.account.address, ctx.agent.address, f.address]);
      expect(bal).to.equal(9_900_000n);
      expect(await f.read.balanceOf([ctx.settlement.address])).to.equal(9_900_000n);
      const v = await makeVoucher(chain, { token: f, agent: ctx.agent }, { cap: 9_900_000n });
      await ctx.settlement.write.redeemAndPay([f.address, encodeEntry(await signed(ctx.agent, ctx.domain, v))], { account: chain.merchant.account });
      expect(await f.read.balanceOf([chain.merchant.account.address])).to.equal(9_801_000n);
      expect(await f.read.balanceOf([ctx.settlement.address])).to.equal(0n);
      expect((await ctx.settlement.read.bucketOf([chain.owner.account.address, ctx.agent.address, f.address]))[0]).to.equal(0n);
    });

    it("no-return-value token: deposit, payout, withdraw and a call voucher all work", async () => {
      const ctx = await load();
      const t = await chain.viem.deployContract("NoReturnToken");
      await t.write.mint([chain.owner.account.address, 10n ** 12n]);
      await t.write.approve([ctx.settlement.address, 10n ** 12n], { account: chain.owner.account });
      await ctx.settlement.write.deposit([t.address, ctx.agent.address, 10_000_000n], { account: chain.owner.account });
      await ctx.settlement.write.deposit([t.address, zeroAddress, 1_000_000n], { account: chain.owner.account });
      const v = await makeVoucher(chain, { token: t, agent: ctx.agent }, { cap: 2_000_000n });
      await ctx.settlement.write.redeemAndPay([t.address, encodeEntry(await signed(ctx.agent, ctx.domain, v))], { account: chain.merchant.account });
      expect(await t.read.balanceOf([chain.merchant.account.address])).to.equal(2_000_000n);
      await ctx.settlement.write.withdraw([t.address, 1_000_000n, chain.owner.account.address], { account: chain.owner.account });
      // a call voucher through the executor: approve (USDT-style) and reset work via forceApprove
      const vault = await chain.viem.deployContract("MockVault4626", [t.address]);
      const data = encodeFunctionData({ abi: vault.abi, functionName: "deposit", args: [3_000_000n, chain.owner.account.address] });
      const cv = await makeVoucher(chain, { token: t, agent: ctx.agent }, { cap: 3_000_000n, callTarget: vault.address, callDataHash: keccak256(data) });
      await ctx.settlement.write.redeemAndCall([cv, 3_000_000n, data, await signVoucher(ctx.agent, ctx.domain, cv)], { account: chain.merchant.account });
      expect(await vault.read.balanceOf([chain.owner.account.address])).to.equal(3_000_000n);
      expect(await t.read.balanceOf([ctx.settlement.address])).to.equal(5_000_000n);
    });

    it("a call voucher cannot turn the escrow's balance of another token against it", async () => {
      const ctx = await load();
      // the escrow holds TestStablecoin for the owner; an attacker funds 1 unit of a junk token and signs a call
      // voucher that asks for TestStablecoin.transfer(attacker, everything)
      const junk = await chain.viem.deployContract("TestStablecoin");
      const attacker = privateKeyToAccount(keccak256(toHex("attacker agent")));
      await junk.write.mint([chain.other.account.address, 10n]);
      await junk.write.approve([ctx.settlement.address, 10n], { account: chain.other.account });
      await ctx.settlement.write.deposit([junk.address, attacker.address, 10n], { account: chain.other.account });
      const steal = encodeFunctionData({ abi: ctx.token.abi, functionName: "transfer", args: [chain.other.account.address, 100_000_000n] });
      const v = {
        ...(await makeVoucher(chain, { token: junk, agent: attacker })),
        owner: chain.other.account.address,
        merchant: chain.other.account.address,
        cap: 10n,
        callTarget: ctx.token.address,
        callDataHash: keccak256(steal),
      };
      const sig = await signVoucher(attacker, ctx.domain, v);
      // the call runs from the executor, which holds no TestStablecoin: it fails, nothing moves
      await expectRevert(ctx.settlement.write.redeemAndCall([v, 10n, steal, sig], { account: chain.other.account }), "ERC20InsufficientBalance");
      expect(await ctx.token.read.balanceOf([ctx.settlement.address])).to.equal(100_000_000n);
    });
  });
});
