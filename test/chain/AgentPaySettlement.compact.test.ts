// redeemCompact: the single-voucher entry point that reads 210 raw bytes after its selector (no ABI encoding).
// Its failure paths: wrong lengths, every field tampered, malformed signatures, terms, buckets, replay,
// re-entrancy; and that it agrees with `redeem` (same digest, effects and event) and the client uses it.
import { expect } from "chai";
import { concatHex, encodeFunctionData, keccak256, numberToHex, parseSignature, serializeSignature, size, sliceHex, toHex, zeroAddress, type Hex } from "viem";
import {
  REDEEM_COMPACT_SELECTOR, bucketIdOf, encodeCompact, encodeCompactCall, encodeEntry, isCompactEntry, ownerNonceOf, signVoucher, type Entry,
} from "./helpers/voucher.ts";
import { SettlementClient } from "../../src/chain/index.ts";
import { AgentPayError } from "../../src/core/index.ts";
import { createChain, expectRevert, loadSettlement, makeOwnerVoucher, makeVoucher, now, signed, type Chain, type Settlement } from "./fixture.ts";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n; // secp256k1 order

// Byte offsets inside the 210 bytes after the selector.
const OFF = { token: 0, owner: 20, agent: 40, cap: 60, deadline: 76, nonce: 81, ref: 113, r: 145, s: 177, v: 209 } as const;

/** `data` with `len` bytes at `off` replaced by `bytes` (hex of exactly `len` bytes). */
function patch(data: Hex, off: number, bytes: Hex): Hex {
  const end = off + size(bytes);
  return concatHex([sliceHex(data, 0, off), bytes, end < size(data) ? sliceHex(data, end) : "0x"]);
}

describe("AgentPaySettlement redeemCompact", () => {
  let chain: Chain;
  before(async () => {
    chain = await createChain();
  });
  const load = () => loadSettlement(chain);
  type Ctx = Settlement;
  const compact = (ctx: Ctx, suffix: Hex, account = chain.merchant.account) =>
    ctx.settlement.write.redeemCompact({ account, dataSuffix: suffix });
  const credit = (ctx: Ctx) => ctx.settlement.read.creditOf([chain.merchant.account.address, ctx.token.address]);
  const balance = async (ctx: Ctx, agent = ctx.agent.address) =>
    (await ctx.settlement.read.bucketOf([chain.owner.account.address, agent, ctx.token.address]))[0];

  it("encodes exactly 210 bytes in the documented order, and redeems like redeem", async () => {
    const ctx = await load();
    const v = await makeVoucher(chain, ctx, { cap: 2_500_000n });
    const e = await signed(ctx.agent, ctx.domain, v);
    const data = encodeCompact(e);
    expect(size(data)).to.equal(210);
    expect(sliceHex(data, OFF.token, OFF.owner)).to.equal(v.token.toLowerCase());
    expect(sliceHex(data, OFF.owner, OFF.agent)).to.equal(v.owner.toLowerCase());
    expect(sliceHex(data, OFF.agent, OFF.cap)).to.equal(v.agent.toLowerCase());
    expect(BigInt(sliceHex(data, OFF.cap, OFF.deadline))).to.equal(v.cap);
    expect(BigInt(sliceHex(data, OFF.deadline, OFF.nonce))).to.equal(v.deadline);
    expect(BigInt(sliceHex(data, OFF.nonce, OFF.ref))).to.equal(v.nonce);
    expect(sliceHex(data, OFF.ref, OFF.r)).to.equal(v.ref);
    expect(sliceHex(data, OFF.r)).to.equal(e.signature);
    expect(encodeCompactCall(e)).to.equal(concatHex([REDEEM_COMPACT_SELECTOR, data]));
    const { result } = await chain.publicClient.simulateContract({
      address: ctx.settlement.address, abi: ctx.settlement.abi, functionName: "redeemCompact", account: chain.merchant.account, dataSuffix: data,
    });
    expect(result).to.equal(2_500_000n);
    await compact(ctx, data);
    expect(await credit(ctx)).to.equal(2_500_000n);
    expect(await balance(ctx)).to.equal(100_000_000n - 2_500_000n);
    expect(await ctx.settlement.read.nonceState([v.owner, v.agent, v.nonce])).to.equal(2);
    const [log] = await ctx.settlement.getEvents.Redeemed();
    expect(log!.args.digest).to.equal(await ctx.settlement.read.hashVoucher([v]));
    expect(log!.args.bucket).to.equal(bucketIdOf(v.owner, v.agent, v.token));
    expect(log!.args.amount).to.equal(2_500_000n);
  });

  it("rejects every other calldata length with MalformedVouchers and changes nothing", async () => {
    const ctx = await load();
    const e = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx));
    const data = encodeCompact(e);
    const wrong: Hex[] = [
      "0x", // the bare selector
      sliceHex(data, 0, 209), // one byte short
      concatHex([data, "0x00"]), // one byte long
      concatHex([data, numberToHex(0n, { size: 32 })]),
      sliceHex(data, 0, 20), // the token only
      encodeEntry(e), // a packed entry meant for redeem (207 bytes)
      concatHex([numberToHex(0n, { size: 32 }), data]),
    ];
    for (const suffix of wrong) await expectRevert(compact(ctx, suffix), "MalformedVouchers");
    expect(await credit(ctx)).to.equal(0n);
    expect(await balance(ctx)).to.equal(100_000_000n);
    await compact(ctx, data);
    expect(await credit(ctx)).to.equal(e.voucher.cap);
  });

  it("every field tampered invalidates the voucher (token, owner, agent, cap, deadline, nonce, ref, r, v, merchant)", async () => {
    const ctx = await load();
    await ctx.settlement.write.deposit([ctx.token.address, ctx.agent2.address, 100_000_000n], { account: chain.owner.account });
    const other = await chain.viem.deployContract("TestStablecoin");
    const v = await makeVoucher(chain, ctx, { cap: 1_000_000n });
    const e = await signed(ctx.agent, ctx.domain, v);
    const data = encodeCompact(e);
    const { r, yParity } = parseSignature(e.signature);
    const tampered: Array<[string, Hex, string?]> = [
      ["token", patch(data, OFF.token, other.address)],
      ["owner", patch(data, OFF.owner, chain.owner2.account.address)],
      ["agent", patch(data, OFF.agent, ctx.agent2.address)],
      ["cap", patch(data, OFF.cap, numberToHex(v.cap + 1n, { size: 16 }))],
      ["cap", patch(data, OFF.cap, numberToHex(v.cap - 1n, { size: 16 }))],
      ["deadline", patch(data, OFF.deadline, numberToHex(v.deadline - 1n, { size: 5 }))],
      ["nonce", patch(data, OFF.nonce, numberToHex(v.nonce + 1n, { size: 32 }))],
      // the top bit makes it an owner nonce: one that does not carry the deadline, or the agent's signature on it
      ["nonce (high bits)", patch(data, OFF.nonce, numberToHex(v.nonce | (1n << 255n), { size: 32 })), "OwnerNonceMismatch"],
      ["nonce (an owner nonce)", patch(data, OFF.nonce, numberToHex(ownerNonceOf(v.deadline, v.nonce), { size: 32 }))],
      ["ref", patch(data, OFF.ref, keccak256(toHex("another order")))],
      ["r", patch(data, OFF.r, numberToHex(BigInt(r) ^ 1n, { size: 32 }))],
      ["v flipped", patch(data, OFF.v, yParity === 0 ? "0x1c" : "0x1b")],
    ];
    for (const [field, suffix, error] of tampered) {
      await expectRevert(compact(ctx, suffix), error ?? "InvalidSignature").catch((err: Error) => {
        throw new Error(`${field}: ${err.message}`);
      });
    }
    // the voucher names the merchant: anybody else calling gets InvalidSignature (no front-running)
    await expectRevert(compact(ctx, data, chain.other.account), "InvalidSignature");
    expect(await credit(ctx)).to.equal(0n);
    await compact(ctx, data);
    expect(await credit(ctx)).to.equal(1_000_000n);
  });

  it("malformed signatures: the high-s twin, v = 0/1/29, zero r or s all fail", async () => {
    const ctx = await load();
    const v = await makeVoucher(chain, ctx);
    const good = await signVoucher(ctx.agent, ctx.domain, v);
    const sig = parseSignature(good);
    const highS = serializeSignature({ r: sig.r, s: numberToHex(N - BigInt(sig.s), { size: 32 }), yParity: sig.yParity === 0 ? 1 : 0 });
    const zero = numberToHex(0n, { size: 32 });
    const bad: Hex[] = [
      highS,
      concatHex([sig.r, sig.s, "0x00"]),
      concatHex([sig.r, sig.s, "0x01"]),
      concatHex([sig.r, sig.s, "0x1d"]),
      concatHex([zero, sig.s, "0x1b"]),
      concatHex([sig.r, zero, "0x1b"]),
      concatHex([zero, zero, "0x1b"]),
    ];
    for (const signature of bad) await expectRevert(compact(ctx, encodeCompact({ voucher: v, signature })), "InvalidSignature");
    await compact(ctx, encodeCompact({ voucher: v, signature: good }));
  });

  it("a garbage signature cannot spend a zero owner's or a zero agent's bucket", async () => {
    const ctx = await load();
    const garbage = concatHex([numberToHex(0n, { size: 32 }), numberToHex(0n, { size: 32 }), "0x1b"]);
    for (const fields of [{ owner: zeroAddress }, { agent: zeroAddress }]) {
      const v = await makeVoucher(chain, ctx, fields);
      await expectRevert(compact(ctx, encodeCompact({ voucher: v, signature: garbage })), "ZeroAddress");
      // even a valid signature of the agent cannot spend the owner's main bucket (agent = 0)
      if (fields.agent === zeroAddress) {
        await expectRevert(compact(ctx, encodeCompact(await signed(ctx.agent, ctx.domain, v))), "ZeroAddress");
      }
    }
  });

  it("terms: zero cap, the deadline (inclusive), beyond the lifetime, over the balance", async () => {
    const ctx = await load();
    // a zero cap (the library never encodes one; the contract refuses it)
    const z = await makeVoucher(chain, ctx, { cap: 0n });
    const zs = await signed(ctx.agent, ctx.domain, z);
    expect(isCompactEntry(zs)).to.equal(false);
    await expectRevert(compact(ctx, patch(encodeCompact({ ...zs, voucher: { ...z, cap: 1n } }), OFF.cap, numberToHex(0n, { size: 16 }))), "ZeroAmount");
    const t = await now(chain);
    const far = await makeVoucher(chain, ctx, { deadline: t + 86_400n + 100n });
    await expectRevert(compact(ctx, encodeCompact(await signed(ctx.agent, ctx.domain, far))), "VoucherNotYetValid");
    const atDeadline = await makeVoucher(chain, ctx, { deadline: t + 10n });
    const late = await makeVoucher(chain, ctx, { deadline: t + 10n });
    await chain.networkHelpers.time.setNextBlockTimestamp(t + 10n);
    await compact(ctx, encodeCompact(await signed(ctx.agent, ctx.domain, atDeadline)));
    await expectRevert(compact(ctx, encodeCompact(await signed(ctx.agent, ctx.domain, late))), "VoucherExpired");
    const big = await makeVoucher(chain, ctx, { cap: 100_000_000n }); // the bucket now holds less
    await expectRevert(compact(ctx, encodeCompact(await signed(ctx.agent, ctx.domain, big))), "InsufficientBalance");
    // a cap that does not fit 16 bytes cannot be encoded compactly (redeem takes it, for a partial amount)
    const huge = await makeVoucher(chain, ctx, { cap: 1n << 128n });
    const he = await signed(ctx.agent, ctx.domain, huge);
    expect(isCompactEntry(he)).to.equal(false);
    expect(() => encodeCompact(he)).to.throw(/redeemCompact/);
    expect(isCompactEntry({ ...he, voucher: { ...huge, cap: 5n }, amount: 4n })).to.equal(false);
  });

  it("replay and cancelled nonces: NonceUsed; a failed redemption consumes nothing", async () => {
    const ctx = await load();
    const e = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx));
    await expectRevert(compact(ctx, encodeCompact(e), chain.other.account), "InvalidSignature");
    await compact(ctx, encodeCompact(e));
    await expectRevert(compact(ctx, encodeCompact(e)), "NonceUsed");
    await expectRevert(ctx.settlement.write.redeem([ctx.token.address, encodeEntry(e)], { account: chain.merchant.account }), "NonceUsed");
    // redeemed through redeem first, then compact: the same nonce space
    const f = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx));
    await ctx.settlement.write.redeem([ctx.token.address, encodeEntry(f)], { account: chain.merchant.account });
    await expectRevert(compact(ctx, encodeCompact(f)), "NonceUsed");
    const g = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx));
    await chain.networkHelpers.setBalance(ctx.agent.address, 10n ** 18n);
    await ctx.settlement.write.cancel([g.voucher.owner, g.voucher.agent, [g.voucher.nonce]], { account: ctx.agent });
    await expectRevert(compact(ctx, encodeCompact(g)), "NonceUsed");
    // in one transaction: a merchant contract sending the same compact call twice
    const mc = await chain.viem.deployContract("Multicaller");
    const h = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx, { merchant: mc.address }));
    const call = encodeCompactCall(h);
    await expectRevert(mc.write.multicall([ctx.settlement.address, [call, call]]), "NonceUsed");
    await mc.write.multicall([ctx.settlement.address, [call]]);
    expect(await ctx.settlement.read.creditOf([mc.address, ctx.token.address])).to.equal(h.voucher.cap);
  });

  it("freeze: agent-signed vouchers are refused, owner-signed ones still redeem", async () => {
    const ctx = await load();
    await ctx.settlement.write.setFrozen([ctx.agent.address, [ctx.token.address], true], { account: chain.owner.account });
    const byAgent = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx));
    await expectRevert(compact(ctx, encodeCompact(byAgent)), "AgentFrozen");
    const v = await makeOwnerVoucher(chain, ctx, { cap: 7n });
    const signature = await chain.owner.signTypedData({
      account: chain.owner.account, domain: ctx.domain, types: (await import("./helpers/voucher.ts")).voucherTypes, primaryType: "Voucher", message: v,
    });
    await compact(ctx, encodeCompact({ voucher: v, signature }));
    expect(await credit(ctx)).to.equal(7n);
  });

  it("another agent's bucket is out of reach; an ERC-1271 signer with a 65-byte signature goes through the general path", async () => {
    const ctx = await load();
    // agent2 signs for agent's bucket: neither the owner nor the agent of that bucket
    const v = await makeVoucher(chain, ctx);
    await expectRevert(compact(ctx, encodeCompact({ voucher: v, signature: await signVoucher(ctx.agent2, ctx.domain, v) })), "InvalidSignature");
    // an always-yes ERC-1271 agent can spend only the bucket its owner funded for it
    const yes = await chain.viem.deployContract("AlwaysYesWallet");
    const junk = concatHex([keccak256(toHex("junk")), keccak256(toHex("junk 2")), "0x1b"]);
    const v1 = await makeVoucher(chain, ctx, { agent: yes.address, cap: 5n });
    await expectRevert(compact(ctx, encodeCompact({ voucher: v1, signature: junk })), "InsufficientBalance");
    await ctx.settlement.write.deposit([ctx.token.address, yes.address, 5n], { account: chain.owner.account });
    await compact(ctx, encodeCompact({ voucher: v1, signature: junk }));
    expect(await balance(ctx, yes.address)).to.equal(0n);
    expect(await balance(ctx)).to.equal(100_000_000n);
    const [log] = await ctx.settlement.getEvents.Redeemed();
    expect(log!.args.bucket).to.equal(bucketIdOf(v1.owner, v1.agent, v1.token));
  });

  it("re-entrancy: a token hook calling redeemCompact during a deposit is refused", async () => {
    const ctx = await load();
    const h = await chain.viem.deployContract("ReentrantToken");
    await h.write.mint([chain.owner.account.address, 10n ** 12n]);
    await h.write.approve([ctx.settlement.address, 2n ** 256n - 1n], { account: chain.owner.account });
    await ctx.settlement.write.deposit([h.address, ctx.agent.address, 100_000_000n], { account: chain.owner.account });
    // a voucher naming the token contract itself as merchant, redeemed from inside a deposit's transferFrom
    const v = await makeVoucher(chain, { token: h, agent: ctx.agent }, { merchant: h.address });
    const e = await signed(ctx.agent, ctx.domain, v);
    await h.write.arm([ctx.settlement.address, encodeCompactCall(e)]);
    await ctx.settlement.write.deposit([h.address, ctx.agent.address, 5_000n], { account: chain.owner.account });
    expect(await h.read.hookCalls()).to.equal(1n);
    expect(await h.read.lastHookSuccess()).to.equal(false);
    expect(await h.read.lastHookResult()).to.equal("0x3ee5aeb5"); // ReentrancyGuardReentrantCall()
    expect(await ctx.settlement.read.nonceState([v.owner, v.agent, v.nonce])).to.equal(0);
  });

  it("the client redeems through redeemCompact when it can, through redeem otherwise", async () => {
    const ctx = await load();
    const client = new SettlementClient({ publicClient: chain.publicClient, walletClient: chain.merchant, address: ctx.settlement.address });
    const full = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx, { cap: 3_000_000n }));
    const r1 = await client.redeem(full);
    expect(r1.result).to.equal(3_000_000n);
    const tx1 = await chain.publicClient.getTransaction({ hash: r1.hash });
    expect(tx1.input).to.equal(encodeCompactCall(full));
    const partial: Entry = { ...(await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx, { cap: 3_000_000n }))), amount: 1_000_000n };
    const r2 = await client.redeem(partial);
    expect(r2.result).to.equal(1_000_000n);
    const tx2 = await chain.publicClient.getTransaction({ hash: r2.hash });
    expect(tx2.input.toLowerCase()).to.equal(encodeFunctionData({ abi: ctx.settlement.abi, functionName: "redeem", args: [ctx.token.address, encodeEntry(partial)] }).toLowerCase());
    // a refusal is decoded the same way through either entry point
    await client.redeem(full).then(() => expect.fail("replayed"), (err: { code?: string }) => expect(err.code).to.equal("CHAIN_NONCE_USED"));
    expect(await credit(ctx)).to.equal(4_000_000n);
  });

  it("compact: false sends every redemption through redeem; an odd-length signature is never routed to the compact path", async () => {
    const ctx = await load();
    const client = new SettlementClient({ publicClient: chain.publicClient, walletClient: chain.merchant, address: ctx.settlement.address, compact: false });
    const full = await signed(ctx.agent, ctx.domain, await makeVoucher(chain, ctx, { cap: 2_000_000n }));
    const r = await client.redeem(full);
    expect(r.result).to.equal(2_000_000n);
    const tx = await chain.publicClient.getTransaction({ hash: r.hash });
    expect(tx.input.toLowerCase()).to.equal(encodeFunctionData({ abi: ctx.settlement.abi, functionName: "redeem", args: [ctx.token.address, encodeEntry(full)] }).toLowerCase());
    // 129 hex digits: size() would round it up to 65 bytes
    const odd: Entry = { ...full, signature: `${full.signature}0` as Hex };
    expect(isCompactEntry(odd)).to.equal(false);
    expect(() => encodeCompact(odd)).to.throw(AgentPayError).with.property("code", "INVALID_INPUT");
    expect(() => new SettlementClient({ publicClient: chain.publicClient, address: ctx.settlement.address, compact: "yes" as never }))
      .to.throw(AgentPayError).with.property("code", "INVALID_INPUT");
  });
});
