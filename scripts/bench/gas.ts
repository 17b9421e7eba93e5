// Gas benchmark for AgentPaySettlement on the in-process Hardhat network (npm run bench:gas).
// Measures, in one run: a plain OpenZeppelin ERC-20 transfer to an existing holder (the floor), one voucher
// redemption credited to a merchant already credited before (through redeemCompact, the entry point the
// SettlementClient uses for a full-cap voucher; the ABI-typed redeem and an owner-signed voucher are printed too),
// and a batch of 100 vouchers. Prints figures, then as its last line one JSON object with the ratios.
import { network } from "hardhat";
import { keccak256, toHex, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { encodeBatch, encodeCompact, encodeEntry, ownerNonceOf, settlementDomain, signVoucher, voucher, voucherTypes, type Entry } from "../../test/chain/helpers/voucher.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const [deployer0, owner0, merchant0, holder0] = await viem.getWalletClients();
if (!deployer0 || !owner0 || !merchant0 || !holder0) throw new Error("need 4 accounts");
const deployer = deployer0;
const owner = owner0;
const merchant = merchant0;
const holder = holder0;
const chainId = await publicClient.getChainId();

async function gasOf(hash: Hex): Promise<bigint> {
  const r = await publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`tx ${hash} failed`);
  return r.gasUsed;
}

// --- baseline: OpenZeppelin ERC-20 transfer to an existing holder (sender keeps a balance)
const token = await viem.deployContract("TestStablecoin");
await token.write.mint([deployer.account.address, 10n ** 15n]);
await token.write.mint([holder.account.address, 1_000_000n]);
await token.write.transfer([holder.account.address, 1_000_000n]); // warm-up, not measured
const erc20TransferGas = await gasOf(await token.write.transfer([holder.account.address, 1_234_567n]));

// --- settlement
const day = 86_400n;
const settlement = await viem.deployContract("AgentPaySettlement", [day, day]);
const domain = settlementDomain(chainId, settlement.address);
const agentKey = keccak256(toHex("agentpay bench agent"));
const agent = privateKeyToAccount(agentKey);

await token.write.mint([owner.account.address, 10n ** 14n]);
await token.write.approve([settlement.address, 2n ** 255n], { account: owner.account });
await settlement.write.deposit([token.address, agent.address, 10n ** 13n], { account: owner.account });

const now = (await publicClient.getBlock()).timestamp;
const deadline = now + day / 2n;
let nextNonce = 0n;
async function makeEntry(cap: bigint, nonce = nextNonce++): Promise<Entry> {
  const v = voucher({
    owner: owner.account.address,
    agent: agent.address,
    merchant: merchant.account.address,
    token: token.address,
    cap,
    deadline,
    nonce,
    ref: keccak256(toHex(`order-${nonce}`)),
  });
  return { voucher: v, signature: await signVoucher(agent, domain, v) };
}

/** The ABI-typed entry point: `redeem(address token, bytes voucher)` with a packed entry. */
async function redeem(e: Entry): Promise<bigint> {
  return gasOf(await settlement.write.redeem([token.address, encodeEntry(e)], { account: merchant.account }));
}
/** The compact entry point: `redeemCompact()` followed by 210 raw bytes (what SettlementClient.redeem sends). */
async function redeemCompact(e: Entry): Promise<bigint> {
  return gasOf(await settlement.write.redeemCompact({ account: merchant.account, dataSuffix: encodeCompact(e) }));
}

// First redemption credits the merchant and touches nonce word 0 (not in the ratio).
const firstGas = await redeemCompact(await makeEntry(1_500_000n));
// Measured: merchant already credited, nonce word already in use, bucket already debited before.
const redeemGas = await redeemCompact(await makeEntry(2_500_000n));
// The same through the ABI-typed redeem(token, bytes).
const redeemAbiGas = await redeem(await makeEntry(2_500_000n));
// A redemption that opens a fresh nonce word (once every 128 nonces of an (owner, agent) pair).
const freshWordGas = await redeemCompact(await makeEntry(2_500_000n, 128n * 5n));
// A partial redemption (amount < cap stores the amount for refunds).
const partialEntry = await makeEntry(2_500_000n);
const partialGas = await redeem({ ...partialEntry, amount: 1_000_000n });
// An owner-signed voucher (an owner nonce carrying its deadline), steady state: its nonce word already in use.
async function makeOwnerEntry(cap: bigint, seq: bigint): Promise<Entry> {
  const v = voucher({
    owner: owner.account.address, agent: agent.address, merchant: merchant.account.address, token: token.address,
    cap, deadline, nonce: ownerNonceOf(deadline, seq), ref: keccak256(toHex(`owner order-${seq}`)),
  });
  const signature = await owner.signTypedData({ account: owner.account, domain, types: voucherTypes, primaryType: "Voucher", message: v });
  return { voucher: v, signature };
}
await redeemCompact(await makeOwnerEntry(2_500_000n, 0n));
const ownerSignedGas = await redeemCompact(await makeOwnerEntry(2_500_000n, 1n));
// The agent cancelling 100 of its own unused nonces (sequential: one bitmap word per 128).
await networkHelpers.setBalance(agent.address, 10n ** 18n);
const cancelNonces = Array.from({ length: 100 }, (_, i) => 10_000n + BigInt(i));
const cancelGas = await gasOf(await settlement.write.cancel([owner.account.address, agent.address, cancelNonces], { account: agent }));
// Direct payout to the merchant's wallet instead of an internal credit.
const payoutGas = await gasOf(
  await settlement.write.redeemAndPay([token.address, encodeEntry(await makeEntry(2_500_000n))], {
    account: merchant.account,
  }),
);

// --- batch of 100 vouchers from the same agent (nonces within words already in use)
const batch: Entry[] = [];
for (let i = 0; i < 100; i++) batch.push(await makeEntry(1_000_000n + BigInt(i)));
const batchGas = await gasOf(
  await settlement.write.redeemBatch([token.address, false, encodeBatch(batch)], { account: merchant.account }),
);
const batchPerVoucher = Number(batchGas) / 100;

// --- batch of 100 vouchers from 100 different agents of one owner (every bucket and nonce word cold)
const agents = Array.from({ length: 100 }, (_, i) => privateKeyToAccount(keccak256(toHex(`bench agent ${i}`))));
for (const a of agents) {
  await settlement.write.deposit([token.address, a.address, 10_000_000n], { account: owner.account });
}
const multi: Entry[] = [];
for (const a of agents) {
  // touch nonce word 0 first so the batch measures steady state (word already non-zero)
  const warm = voucher({
    owner: owner.account.address, agent: a.address, merchant: merchant.account.address, token: token.address,
    cap: 1n, deadline, nonce: 0n,
  });
  multi.push({ voucher: warm, signature: await signVoucher(a, domain, warm) });
}
await gasOf(await settlement.write.redeemBatch([token.address, false, encodeBatch(multi)], { account: merchant.account }));
const multi2: Entry[] = [];
for (const a of agents) {
  const v = voucher({
    owner: owner.account.address, agent: a.address, merchant: merchant.account.address, token: token.address,
    cap: 1_000_000n, deadline, nonce: 1n,
  });
  multi2.push({ voucher: v, signature: await signVoucher(a, domain, v) });
}
const multiGas = await gasOf(
  await settlement.write.redeemBatch([token.address, false, encodeBatch(multi2)], { account: merchant.account }),
);

const ratio = (x: number) => Math.round((x / Number(erc20TransferGas)) * 1000) / 1000;
console.log(`OpenZeppelin ERC-20 transfer to an existing holder : ${erc20TransferGas} gas (floor)`);
console.log(`redeemCompact, merchant already credited (measured): ${redeemGas} gas  (${ratio(Number(redeemGas))} x)`);
console.log(`redeem (ABI bytes), merchant already credited      : ${redeemAbiGas} gas  (${ratio(Number(redeemAbiGas))} x)`);
console.log(`redeemCompact of an owner-signed voucher (same case): ${ownerSignedGas} gas  (${ratio(Number(ownerSignedGas))} x)`);
console.log(`redeemCompact, first ever credit to this merchant  : ${firstGas} gas`);
console.log(`redeemCompact, opening a fresh nonce word (1 in 128): ${freshWordGas} gas`);
console.log(`redeem, partial amount (< cap, stored for refunds) : ${partialGas} gas`);
console.log(`redeem with direct payout to the merchant wallet   : ${payoutGas} gas`);
console.log(`cancel of 100 sequential nonces by the agent        : ${cancelGas} gas, ${Number(cancelGas) / 100} per nonce`);
console.log(`redeemBatch, 100 vouchers of one agent             : ${batchGas} gas, ${batchPerVoucher} per voucher (${ratio(batchPerVoucher)} x)`);
console.log(`redeemBatch, 100 vouchers of 100 agents            : ${multiGas} gas, ${Number(multiGas) / 100} per voucher (${ratio(Number(multiGas) / 100)} x)`);
console.log(
  JSON.stringify({
    erc20_transfer_gas: Number(erc20TransferGas),
    redeem_gas: Number(redeemGas),
    redeem_ratio: ratio(Number(redeemGas)),
    redeem_abi_gas: Number(redeemAbiGas),
    redeem_owner_signed_gas: Number(ownerSignedGas),
    redeem_fresh_word_gas: Number(freshWordGas),
    batch100_gas_per_voucher: batchPerVoucher,
    batch_ratio: ratio(batchPerVoucher),
  }),
);
