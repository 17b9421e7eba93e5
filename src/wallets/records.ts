import type { Policy, Usage } from "./policy/index.ts";

export type SubWalletStatus = "active" | "frozen" | "closed";

/** A person's AI wallet: one currency, one ledger account that never goes below zero. */
export interface Wallet {
  readonly id: string;
  readonly ownerId: string;
  readonly currency: string;
  /** IANA time zone: where "daily", "weekly" and "monthly" budgets start and end. */
  readonly timeZone: string;
  readonly accountId: string;
  /** The outside world's side of deposits and withdrawals. */
  readonly fundingAccountId: string;
  readonly createdAtMs: number;
}

/** One agent purpose: its own ledger account, policy and live usage. */
export interface SubWallet {
  readonly id: string;
  readonly walletId: string;
  readonly ownerId: string;
  readonly name: string;
  readonly currency: string;
  readonly timeZone: string;
  readonly accountId: string;
  readonly status: SubWalletStatus;
  /** The current policy; `policy.version` increases with every change. */
  readonly policy: Policy;
  readonly createdAtMs: number;
}

export const walletKey = (id: string): string => `wl/${id}`;
export const subWalletKey = (id: string): string => `sw/${id}`;
export const usageKey = (subWalletId: string): string => `us/${subWalletId}`;
export const policyVersionKey = (subWalletId: string, version: number): string =>
  `pv/${subWalletId}/${version.toString().padStart(8, "0")}`;
export const WALLET_PREFIX = "wl/";
export const SUBWALLET_PREFIX = "sw/";

export type { Usage };
