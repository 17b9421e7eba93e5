// A world for the chain-bridge tests: an in-process Hardhat chain with the settlement contract and a
// 6-decimal stablecoin, and an AgentPay whose clock follows the chain's time, with a person, a
// sub-wallet bound to an agent's on-chain bucket, and a merchant that settles on-chain.
import { expect } from "chai";
import type { Address } from "viem";
import { AgentPay, CurrencyRegistry, ManualClock, parseAmount } from "../../../src/index.ts";
import { MemoryStore } from "../../../src/engine/index.ts";
import type { AgentPayOptions } from "../../../src/index.ts";
import { DAY, createChain, must } from "../fixture.ts";

const assets = new CurrencyRegistry();
assets.registerAsset("USDC", 6);
export const usdc = (s: string) => parseAmount(s, "USDC", assets);

export async function deployEscrow(chain: Awaited<ReturnType<typeof createChain>>) {
  const { viem, owner, publicClient } = chain;
  const token = await viem.deployContract("TestStablecoin");
  const settlement = await viem.deployContract("AgentPaySettlement", [DAY, DAY]);
  const deployBlock = await publicClient.getBlockNumber();
  await token.write.mint([owner.account.address, 10n ** 12n]);
  return { token, settlement, deployBlock };
}

/** Opens an AgentPay on `store` with the chain's asset registered and a clock the test sets from the chain. */
export async function openPay(store: MemoryStore, clock: ManualClock, opts: Partial<AgentPayOptions> = {}) {
  const pay = await AgentPay.open({ store, clock, delivery: false, background: false, risk: "off", chain: true, ...opts });
  pay.currencies.registerAsset("USDC", 6);
  return pay;
}

export async function bridgeWorld() {
  const chain = await createChain();
  const { token, settlement, deployBlock } = await deployEscrow(chain);
  const chainId = await chain.publicClient.getChainId();
  const store = new MemoryStore();
  const clock = new ManualClock();
  const pay = await openPay(store, clock);
  const syncClock = async () => clock.set(Number((await chain.publicClient.getBlock()).timestamp) * 1000);
  await syncClock();

  const wallet = await pay.wallets.create({ ownerId: "alice", currency: "USDC", timeZone: "UTC" });
  const sub = await pay.wallets.createSubWallet(wallet.id, { name: "shopping", policy: { perPayment: "50.00" } });
  const { agent, privateKeyJwk } = await pay.agents.register({ name: "shopper" });
  await pay.grants.create({ subWalletId: sub.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
  const shop = (await pay.merchants.register({ name: "Chain Shop", category: "5734", settlement: "chain", chainAddress: chain.merchant.account.address })).merchant;
  const agentAddress = await pay.chain.agentAddress(agent.id);
  const binding = await pay.chain.bind({
    subWalletId: sub.id, agentId: agent.id, owner: chain.owner.account.address, token: token.address, chainId, settlement: settlement.address,
  });
  const client = pay.agentClient({ agentId: agent.id, privateKeyJwk: must(privateKeyJwk) });
  const ownerClient = pay.chain.client({ publicClient: chain.publicClient, walletClient: chain.owner, address: settlement.address });
  const merchantClient = pay.chain.client({ publicClient: chain.publicClient, walletClient: chain.merchant, address: settlement.address });
  await ownerClient.approveToken(token.address, 2n ** 255n);
  const watcher = await pay.chain.watcher({ publicClient: chain.publicClient, settlement: settlement.address, fromBlock: deployBlock, confirmations: 2 });
  return {
    chain, chainId, token, settlement, deployBlock, store, clock, pay, syncClock, wallet, sub, agent, privateKeyJwk: must(privateKeyJwk),
    shop, agentAddress, binding, client, ownerClient, merchantClient, watcher,
  };
}

export type BridgeWorld = Awaited<ReturnType<typeof bridgeWorld>>;

/** Mines `n` blocks (so earlier logs get their confirmations). */
export async function mine(w: { chain: { networkHelpers: { mine(n?: number): Promise<void> } } }, n = 2): Promise<void> {
  await w.chain.networkHelpers.mine(n);
}

/** Ledger conservation and the other invariants hold. */
export function expectLedgerOk(pay: AgentPay): void {
  const r = pay.ledger.check();
  expect(r.problems).to.deep.equal([]);
  expect(r.ok).to.equal(true);
}

export async function expectReconciled(w: BridgeWorld): Promise<void> {
  const r = await w.pay.chain.reconcile({ publicClient: w.chain.publicClient, settlement: w.settlement.address });
  expect(r.differences).to.deep.equal([]);
  expect(r.ok).to.equal(true);
}

export const lower = (a: Address) => a.toLowerCase();
