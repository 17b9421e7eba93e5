import type { Weekday } from "./time.ts";

/** Allow/block lists as the user writes them. */
export interface ListInput {
  allow?: string[];
  block?: string[];
}

/**
 * A sub-wallet's policy as the person writes it: amounts are decimal strings in the
 * wallet's currency, times are wall-clock "HH:MM" in the wallet's time zone.
 * Every field is optional; an omitted rule does not apply.
 */
export interface PolicyInput {
  perPayment?: string;
  daily?: string;
  weekly?: string;
  monthly?: string;
  rolling24h?: string;
  /** Payments strictly above this amount need a person's approval. */
  approvalAbove?: string;
  /** MCC codes, 4 digits each. */
  categories?: ListInput;
  merchants?: ListInput;
  /** [from, to) local wall-clock time; `to` may be "24:00"; from > to crosses midnight. */
  activeHours?: { from: string; to: string; days?: Weekday[] };
  /** ISO 8601 date-time with an offset or Z, or epoch milliseconds. */
  expiresAt?: string | number;
  maxPaymentsPerDay?: number;
  /** Notification rules: passed through untouched; the events module validates them. */
  notify?: unknown[];
}

/** Normalised allow/block lists (deduplicated; an absent list does not apply). */
export interface PolicyList {
  readonly allow?: readonly string[];
  readonly block?: readonly string[];
}

export interface ActiveHours {
  /** Minutes since local midnight, inclusive, 0…1439. */
  readonly fromMinute: number;
  /** Minutes since local midnight, exclusive, 1…1440. Less than fromMinute: the window crosses midnight. */
  readonly toMinute: number;
  /**
   * Days on which a window STARTS, Monday-first order. For a window crossing midnight
   * the hours after midnight belong to the previous day's window (fri 22:00–06:00 covers Saturday 03:00).
   */
  readonly days?: readonly Weekday[];
}

/** The stored, normalised policy. Amounts are bigint minor units of `currency`. */
export interface Policy {
  readonly currency: string;
  /** Assigned by the owner of the policy (the wallets module), never by parsePolicy. */
  readonly version?: number;
  readonly perPaymentMinor?: bigint;
  readonly dailyMinor?: bigint;
  readonly weeklyMinor?: bigint;
  readonly monthlyMinor?: bigint;
  readonly rolling24hMinor?: bigint;
  readonly approvalAboveMinor?: bigint;
  readonly categories?: PolicyList;
  readonly merchants?: PolicyList;
  readonly activeHours?: ActiveHours;
  /** The policy stops allowing payments at this instant (atMs >= expiresAtMs is expired). */
  readonly expiresAtMs?: number;
  readonly maxPaymentsPerDay?: number;
  readonly notify?: readonly unknown[];
}

/** What a payment (or its refund) changes in the usage counters. */
export interface UsageEntry {
  readonly amountMinor: bigint;
  /** When the payment was counted. */
  readonly atMs: number;
}

export interface UsageRemoval {
  readonly amountMinor: bigint;
  /** When the refund or void happens. */
  readonly atMs: number;
  /** When the payment being refunded or voided was counted (its UsageEntry.atMs). */
  readonly originalAtMs: number;
  /** A void (the payment never happened): also give back its slot in maxPaymentsPerDay. Default false. */
  readonly cancelsPayment?: boolean;
}

/** A calendar window's running total. */
export interface WindowUsage {
  readonly id: string;
  readonly spentMinor: bigint;
}

export interface DayUsage extends WindowUsage {
  readonly count: number;
}

/** Spend of payments whose time falls in [startMs, startMs + bucket width). */
export interface RollingBucket {
  readonly startMs: number;
  /** The latest payment in the bucket: its spend counts until lastAtMs + 24 h. */
  readonly lastAtMs: number;
  readonly spentMinor: bigint;
}

/**
 * A sub-wallet's live counters. Only the current calendar windows are kept, plus at
 * most ~150 rolling buckets, so the record stays small and evaluation is O(1).
 * Plain data (bigints included): store it with the engine's codec.
 */
export interface Usage {
  readonly day?: DayUsage;
  readonly week?: WindowUsage;
  readonly month?: WindowUsage;
  /** Sorted by startMs; totalMinor = Σ buckets.spentMinor (including not yet pruned ones). */
  readonly rolling: { readonly totalMinor: bigint; readonly buckets: readonly RollingBucket[] };
}

/** What is about to be paid. */
export interface PolicyIntent {
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly merchantId: string;
  /** The merchant category (MCC); absent when the merchant has none. */
  readonly category?: string | null;
  readonly atMs: number;
}

export const POLICY_DECLINE_CODES = [
  "POLICY_CURRENCY_MISMATCH",
  "POLICY_EXPIRED",
  "POLICY_OUTSIDE_ACTIVE_HOURS",
  "POLICY_MERCHANT_BLOCKED",
  "POLICY_MERCHANT_NOT_ALLOWED",
  "POLICY_CATEGORY_BLOCKED",
  "POLICY_CATEGORY_NOT_ALLOWED",
  "POLICY_PER_PAYMENT_EXCEEDED",
  "POLICY_DAILY_BUDGET_EXCEEDED",
  "POLICY_WEEKLY_BUDGET_EXCEEDED",
  "POLICY_MONTHLY_BUDGET_EXCEEDED",
  "POLICY_ROLLING_BUDGET_EXCEEDED",
  "POLICY_MAX_PAYMENTS_PER_DAY",
] as const;
export const POLICY_REVIEW_CODES = ["APPROVAL_THRESHOLD"] as const;

export type PolicyDeclineCode = (typeof POLICY_DECLINE_CODES)[number];
export type PolicyReviewCode = (typeof POLICY_REVIEW_CODES)[number];
export type PolicyReasonCode = PolicyDeclineCode | PolicyReviewCode;

export interface PolicyReason {
  readonly code: PolicyReasonCode;
  readonly message: string;
  /** Amounts as bigint minor units. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export type VerdictOutcome = "allow" | "review" | "decline";

/**
 * The policy's answer. `decline` lists every decline reason (not the first only) and
 * no review reasons; `review` lists the review reasons; `allow` has none.
 */
export interface Verdict {
  readonly outcome: VerdictOutcome;
  readonly reasons: readonly PolicyReason[];
  readonly policyVersion?: number;
}

export type BudgetWindow = "daily" | "weekly" | "monthly" | "rolling24h";

export interface WindowStatus {
  readonly window: BudgetWindow;
  /** Calendar window id (`2026-03-08`, `2026-W10`, `2026-03`); absent for rolling24h. */
  readonly windowId?: string;
  readonly usedMinor: bigint;
  /** Absent when the policy has no limit for this window. */
  readonly limitMinor?: bigint;
  readonly remainingMinor?: bigint;
  /** floor(used × 100 / limit); 100 when the limit is 0 and anything or nothing is used. */
  readonly usedPercent?: number;
}

export interface BudgetStatus {
  readonly currency: string;
  readonly daily: WindowStatus;
  readonly weekly: WindowStatus;
  readonly monthly: WindowStatus;
  readonly rolling24h: WindowStatus;
  readonly paymentsToday: { readonly count: number; readonly max?: number };
}
