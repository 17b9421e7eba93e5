// What the chain bridge stores, and the keys and derived account ids it stores it under.
import { createHash } from "node:crypto";
import type { Address, Hex } from "viem";
import { CHAIN_BINDING_PREFIX, voucherKey } from "../payments/index.ts";

/** A sub-wallet bound to an on-chain agent bucket. Immutable once made. */
export interface ChainBinding {
  readonly subWalletId: string;
  readonly walletId: string;
  /** The agentpay agent whose voucher key signs for this bucket. */
  readonly agentId: string;
  readonly owner: Address;
  /** The agent's address on-chain (its voucher key). */
  readonly agent: Address;
  readonly token: Address;
  readonly chainId: number;
  readonly settlement: Address;
  /** The sub-wallet's currency: the asset the token is (e.g. "USDC", registered with its decimals). */
  readonly currency: string;
  /** Mirror of the owner's main bucket. */
  readonly mainAccountId: string;
  /** The world outside the escrow for this token. */
  readonly externalAccountId: string;
  readonly createdAtMs: number;
}

export interface BindSubWalletInput {
  subWalletId: string;
  /** The agent (agt_…) whose voucher key signs: generated and kept by agentpay unless useSigner gave one. */
  agentId: string;
  /** The owner's address (the person's account that deposits into the escrow). */
  owner: Address;
  /** The ERC-20 the sub-wallet's currency is. */
  token: Address;
  chainId: number;
  settlement: Address;
}

/** Something the watcher could not map cleanly: recorded, never thrown, shown by reconcile. */
export interface ChainAnomaly {
  readonly id: string;
  readonly kind:
    | "unmatched_redemption" | "late_capture" | "insufficient_mirror" | "duplicate_redemption" | "external_redemption"
    | "call_redemption" | "unmatched_refund";
  readonly log: { chainId: number; txHash: Hex; logIndex: number; blockNumber: bigint; eventName: string };
  readonly detail: Readonly<Record<string, string | bigint | number | boolean>>;
  readonly atMs: number;
}

export interface ReconcileDifference {
  readonly kind: "agent_bucket" | "main_bucket" | "merchant_credit";
  readonly chainId: number;
  readonly settlement: Address;
  readonly token: Address;
  readonly currency: string;
  /** Ledger account compared. */
  readonly accountId: string;
  readonly subWalletId?: string;
  readonly merchantId?: string;
  readonly owner?: Address;
  readonly agent?: Address;
  readonly merchant?: Address;
  readonly onChainMinor: bigint;
  readonly ledgerMinor: bigint;
  /** onChain − ledger. */
  readonly diffMinor: bigint;
}

export interface ReconcileReport {
  readonly ok: boolean;
  readonly chainId: number;
  readonly settlement: Address;
  /** The block the balances were read at (the watcher's cursor by default). */
  readonly blockNumber: bigint;
  readonly checked: number;
  readonly differences: readonly ReconcileDifference[];
}

/** The parts of an agent bucket id (a hash of owner, agent and token). */
export interface BucketParts { owner: Address; agent: Address; token: Address }

export { voucherKey };
export const BINDING_PREFIX = CHAIN_BINDING_PREFIX;
export const bindingKey = (subWalletId: string): string => `${CHAIN_BINDING_PREFIX}${subWalletId}`;
export const bucketIndexKey = (chainId: number, settlement: string, owner: string, agent: string, token: string): string =>
  `cbk/${chainId}/${settlement}/${owner}/${agent}/${token}`;
/** Bucket id (the Redeemed event's `bucket` topic) → its owner, agent and token, learned from Deposited/Allocated. */
export const bucketIdKey = (chainId: number, settlement: string, bucketId: string): string => `cbi/${chainId}/${settlement}/${bucketId.toLowerCase()}`;
export const digestKey = (digest: string): string => `cd/${digest.toLowerCase()}`;
export const NONCE_INDEX_PREFIX = "cn/";
export const nonceIndexKey = (chainId: number, settlement: string, owner: string, agent: string, nonce: Hex): string =>
  `${NONCE_INDEX_PREFIX}${chainId}/${settlement}/${owner}/${agent}/${nonce}`;
/** Nonces below this are sequential (allocated by the library); above, hash-derived ones. */
export const SEQUENTIAL_NONCE_LIMIT = 1n << 64n;
export const ANOMALY_PREFIX = "cx/";

function hashId(prefix: string, ...parts: Array<string | number>): string {
  return `${prefix}:${createHash("sha256").update(parts.join("|")).digest("base64url").slice(0, 32)}`;
}
export const mainAccountIdOf = (chainId: number, settlement: string, owner: string, token: string): string =>
  hashId("chm", chainId, settlement.toLowerCase(), owner.toLowerCase(), token.toLowerCase());
export const externalAccountIdOf = (chainId: number, settlement: string, token: string): string =>
  hashId("chx", chainId, settlement.toLowerCase(), token.toLowerCase());

export const toHex32 = (n: bigint): Hex => `0x${n.toString(16).padStart(64, "0")}` as Hex;
