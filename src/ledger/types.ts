import type { Amount } from "../core/index.ts";

export interface AccountFlags {
  /** The account can never go below zero: a wallet. */
  readonly debitsMustNotExceedCredits?: boolean;
  /** The account can never be credited beyond its debits: a funding source with a cap. */
  readonly creditsMustNotExceedDebits?: boolean;
}

export interface Account {
  readonly id: string;
  readonly currency: string;
  readonly flags: AccountFlags;
  readonly debitsPending: bigint;
  readonly debitsPosted: bigint;
  readonly creditsPending: bigint;
  readonly creditsPosted: bigint;
  readonly closed: boolean;
  readonly createdAtMs: number;
  readonly code?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface Balance {
  readonly currency: string;
  /** creditsPosted - debitsPosted. */
  readonly postedMinor: bigint;
  /** Amount held by pending debits. */
  readonly pendingDebitsMinor: bigint;
  readonly pendingCreditsMinor: bigint;
  /** What can be spent now: posted - pending debits. */
  readonly availableMinor: bigint;
}

export type TransferKind = "single" | "pending" | "post" | "void" | "expire";
export type PendingState = "pending" | "posted" | "voided" | "expired";

export interface Transfer {
  readonly id: string;
  readonly kind: TransferKind;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  /** For post: the amount posted; for void/expire: the amount released. */
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly seq: number;
  readonly createdAtMs: number;
  /** post / void / expire: the pending transfer they resolve. */
  readonly pendingId?: string;
  /** pending: when it expires (ms since epoch), if it has a timeout. */
  readonly expiresAtMs?: number;
  /** pending: its resolution, once. */
  readonly state?: PendingState;
  readonly resolvedById?: string;
  readonly code?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Net posted balance (credits - debits) of each side right after this transfer. */
  readonly debitBalanceAfter: bigint;
  readonly creditBalanceAfter: bigint;
  /** pending: the timeout it was created with (part of its request, for idempotency). */
  readonly timeoutMs?: number;
  /** post: the request named no amount (post the whole hold). */
  readonly amountOmitted?: true;
}

/** A request, normalised for idempotency comparison. */
export interface TransferRequest {
  readonly kind: TransferKind;
  readonly debitAccountId?: string;
  readonly creditAccountId?: string;
  readonly amountMinor?: bigint;
  readonly currency?: string;
  readonly pendingId?: string;
  readonly timeoutMs?: number;
  readonly code?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface CreateAccountInput {
  /** Client-chosen id (idempotency key); generated when omitted. */
  id?: string;
  currency: string;
  flags?: AccountFlags;
  code?: string;
  metadata?: Record<string, string>;
}

export interface TransferInput {
  /** Client-chosen transfer id: the idempotency key. Generated when omitted. */
  id?: string;
  debitAccountId: string;
  creditAccountId: string;
  amount: Amount;
  /** Place a hold (two-phase) instead of posting at once. */
  pending?: boolean;
  /** For a pending transfer: release automatically after this long. */
  timeoutMs?: number;
  code?: string;
  metadata?: Record<string, string>;
}

export interface PostInput {
  id?: string;
  pendingId: string;
  /** Post part of the hold; the rest is released. Omitted: the whole hold. */
  amount?: Amount;
  code?: string;
  metadata?: Record<string, string>;
}

export interface VoidInput {
  id?: string;
  pendingId: string;
  code?: string;
  metadata?: Record<string, string>;
}

export interface StatementEntry {
  readonly transferId: string;
  readonly kind: TransferKind;
  readonly seq: number;
  readonly atMs: number;
  readonly direction: "debit" | "credit";
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly counterpartyAccountId: string;
  /** Net posted balance of this account after the entry. */
  readonly balanceAfterMinor: bigint;
  readonly code?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface StatementPage {
  readonly accountId: string;
  readonly entries: readonly StatementEntry[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string;
}
