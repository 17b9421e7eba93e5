// Reconcile: the escrow's balances on-chain against their ledger mirrors.
import type { Address, Chain, PublicClient, Transport } from "viem";
import { zeroAddress } from "viem";
import type { Engine } from "../engine/index.ts";
import { accountKey } from "../ledger/index.ts";
import { merchantKey } from "../merchants/index.ts";
import type { Merchant } from "../merchants/index.ts";
import { subWalletKey } from "../wallets/index.ts";
import type { SubWallet } from "../wallets/index.ts";
import { SettlementClient, WATCHER_PREFIX, checkAddress } from "../chain/index.ts";
import type { BridgeIndexes } from "./indexes.ts";
import type { ChainBinding, ReconcileDifference, ReconcileReport } from "./records.ts";

export type ReadClient = PublicClient<Transport, Chain | undefined>;

export interface ReconcileOptions {
  publicClient: ReadClient;
  settlement: Address;
  /** Default: the block the watcher's cursor is at (what the ledger reflects), else the latest. */
  blockNumber?: bigint;
  /** Default `${chainId}:${settlement}`, the id `pay.chain.watcher()` uses. */
  watcherId?: string;
}

/**
 * Compares each bound agent bucket with its sub-wallet's posted balance, each owner's main bucket
 * with its mirror, each chain merchant's credit with its payout account. `ok` is true and
 * `differences` empty when both sides agree.
 */
export async function reconcile(engine: Engine, indexes: BridgeIndexes, opts: ReconcileOptions): Promise<ReconcileReport> {
  const settlement = checkAddress(opts.settlement, "settlement");
  const client = new SettlementClient({ publicClient: opts.publicClient, address: settlement });
  const chainId = await client.chainId();
  let blockNumber = opts.blockNumber;
  if (blockNumber === undefined) {
    const w = engine.read<{ cursor: bigint }>(`${WATCHER_PREFIX}${opts.watcherId ?? `${chainId}:${settlement}`}`);
    blockNumber = w ? w.cursor : await opts.publicClient.getBlockNumber();
  }
  const at = { blockNumber };
  const differences: ReconcileDifference[] = [];
  let checked = 0;
  const bindings = [...indexes.bindings.values()].filter((b) => b.chainId === chainId && b.settlement === settlement);
  const posted = (id: string): bigint => {
    const a = engine.read<{ creditsPosted: bigint; debitsPosted: bigint }>(accountKey(id));
    return a ? a.creditsPosted - a.debitsPosted : 0n;
  };
  const compare = (d: Omit<ReconcileDifference, "diffMinor" | "chainId" | "settlement">): void => {
    checked++;
    if (d.onChainMinor !== d.ledgerMinor) differences.push({ ...d, chainId, settlement, diffMinor: d.onChainMinor - d.ledgerMinor });
  };
  const mains = new Map<string, ChainBinding>();
  const tokens = new Map<string, string>();
  for (const b of bindings) {
    const sw = engine.read<SubWallet>(subWalletKey(b.subWalletId))!;
    const { balance } = await client.bucketOf(b.owner, b.agent, b.token, at);
    compare({ kind: "agent_bucket", token: b.token, currency: b.currency, accountId: sw.accountId, subWalletId: b.subWalletId, owner: b.owner, agent: b.agent, onChainMinor: balance, ledgerMinor: posted(sw.accountId) });
    mains.set(b.mainAccountId, b);
    tokens.set(b.token, b.currency);
  }
  for (const b of mains.values()) {
    const { balance } = await client.bucketOf(b.owner, zeroAddress, b.token, at);
    compare({ kind: "main_bucket", token: b.token, currency: b.currency, accountId: b.mainAccountId, owner: b.owner, onChainMinor: balance, ledgerMinor: posted(b.mainAccountId) });
  }
  for (const [address, merchantId] of indexes.merchantsByAddress) {
    const m = engine.read<Merchant>(merchantKey(merchantId))!;
    for (const [token, currency] of tokens) {
      const acct = m.payoutAccounts[currency];
      const credit = await client.creditOf(address as Address, token as Address, at);
      if (!acct && credit === 0n) continue;
      compare({ kind: "merchant_credit", token: token as Address, currency, accountId: acct ?? `pay:${m.id}:${currency}`, merchantId, merchant: address as Address, onChainMinor: credit, ledgerMinor: acct ? posted(acct) : 0n });
    }
  }
  return { ok: differences.length === 0, chainId, settlement, blockNumber, checked, differences };
}
