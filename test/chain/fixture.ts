// Shared fixture for the AgentPaySettlement chain tests.
import { network } from "hardhat";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount, type LocalAccount } from "viem/accounts";
import { expect } from "chai";
import { settlementDomain, signVoucher, voucher, encodeEntry, ownerNonceOf, type Voucher, type Entry } from "./helpers/voucher.ts";

export const DAY = 86_400n;

export function must<T>(x: T | undefined, what = "value"): T {
  if (x === undefined) throw new Error(`missing ${what}`);
  return x;
}

/** Expects `p` to reject with a revert naming `name` (a custom error or a revert string). */
export async function expectRevert(p: Promise<unknown>, name: string): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected a revert with ${name}`).to.not.equal(undefined);
  const text = `${(err as { shortMessage?: string }).shortMessage ?? ""} ${String((err as Error).message)}`;
  expect(text, `expected ${name}`).to.include(name);
}

export async function createChain(chainId?: number) {
  const conn = chainId === undefined ? await network.create() : await network.create({ override: { chainId } });
  const { viem, networkHelpers } = conn;
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const [deployer, owner, merchant, other, owner2] = [0, 1, 2, 3, 4].map((i) => must(wallets[i], `wallet ${i}`));
  return { conn, viem, networkHelpers, publicClient, deployer: must(deployer), owner: must(owner), merchant: must(merchant), other: must(other), owner2: must(owner2) };
}

export type Chain = Awaited<ReturnType<typeof createChain>>;

export const agentKey = keccak256(toHex("agentpay test agent"));
export const agent2Key = keccak256(toHex("agentpay test agent 2"));

export async function deploySettlement(chain: Chain) {
  const { viem, owner, publicClient } = chain;
  const token = await viem.deployContract("TestStablecoin");
  const settlement = await viem.deployContract("AgentPaySettlement", [DAY, DAY]);
  const agent = privateKeyToAccount(agentKey);
  const agent2 = privateKeyToAccount(agent2Key);
  await token.write.mint([owner.account.address, 10n ** 12n]);
  await token.write.approve([settlement.address, 2n ** 256n - 1n], { account: owner.account });
  await settlement.write.deposit([token.address, agent.address, 100_000_000n], { account: owner.account });
  const chainId = await publicClient.getChainId();
  const domain = settlementDomain(chainId, settlement.address);
  return { token, settlement, agent, agent2, domain, chainId };
}

export type Settlement = Awaited<ReturnType<typeof deploySettlement>>;

// loadFixture recognises a fixture by its function: one per chain.
const fixtures = new WeakMap<Chain, () => Promise<Settlement>>();

/** The settlement deployment on `chain`, restored from one snapshot for every test (Hardhat's loadFixture). */
export function loadSettlement(chain: Chain): Promise<Settlement> {
  let fixture = fixtures.get(chain);
  if (!fixture) {
    fixture = () => deploySettlement(chain);
    fixtures.set(chain, fixture);
  }
  return chain.networkHelpers.loadFixture(fixture);
}

export async function now(chain: Chain): Promise<bigint> {
  return (await chain.publicClient.getBlock()).timestamp;
}

let nonceCounter = 1000n;
export function freshNonce(): bigint {
  return nonceCounter++;
}

export async function makeVoucher(
  chain: Chain,
  ctx: { token: { address: Address }; agent: LocalAccount },
  fields: Partial<Voucher> = {},
): Promise<Voucher> {
  return voucher({
    owner: chain.owner.account.address,
    agent: ctx.agent.address,
    merchant: chain.merchant.account.address,
    token: ctx.token.address,
    cap: 1_000_000n,
    deadline: (await now(chain)) + 3600n,
    nonce: freshNonce(),
    ref: keccak256(toHex(`order ${nonceCounter}`)),
    ...fields,
  });
}

/** A voucher for the owner to sign: its nonce is an owner nonce carrying its deadline (the contract's rule). */
export async function makeOwnerVoucher(
  chain: Chain,
  ctx: { token: { address: Address }; agent: LocalAccount },
  fields: Partial<Voucher> = {},
): Promise<Voucher> {
  const deadline = fields.deadline ?? (await now(chain)) + 3600n;
  return makeVoucher(chain, ctx, { deadline, nonce: ownerNonceOf(deadline, freshNonce()), ...fields });
}

export async function signed(signer: LocalAccount, domain: ReturnType<typeof settlementDomain>, v: Voucher, amount?: bigint): Promise<Entry> {
  const signature = await signVoucher(signer, domain, v);
  return amount === undefined ? { voucher: v, signature } : { voucher: v, signature, amount };
}

export function entryHex(e: Entry): Hex {
  return encodeEntry(e);
}
