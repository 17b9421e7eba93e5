import { AgentPayError } from "../../core/index.ts";
import { localTime, WEEKDAYS, windowIds } from "./time.ts";
import { rollingSpent } from "./usage.ts";
import type {
  BudgetStatus, BudgetWindow, Policy, PolicyDeclineCode, PolicyIntent, PolicyList, PolicyReason, Usage, Verdict, WindowStatus,
} from "./types.ts";

/** Lookups derived from a policy once (policies are immutable). */
interface Compiled {
  readonly catAllow?: ReadonlySet<string>;
  readonly catBlock?: ReadonlySet<string>;
  readonly merAllow?: ReadonlySet<string>;
  readonly merBlock?: ReadonlySet<string>;
  /** bit i set: windows start on WEEKDAYS[i]. */
  readonly daysMask: number;
}

const compiledCache = new WeakMap<Policy, Compiled>();

function compile(policy: Policy): Compiled {
  let c = compiledCache.get(policy);
  if (c) return c;
  const set = (l: PolicyList | undefined, k: "allow" | "block") => (l?.[k] ? new Set(l[k]) : undefined);
  let daysMask = 0x7f;
  const days = policy.activeHours?.days;
  if (days) {
    daysMask = 0;
    for (const d of days) daysMask |= 1 << WEEKDAYS.indexOf(d);
  }
  c = {
    catAllow: set(policy.categories, "allow"), catBlock: set(policy.categories, "block"),
    merAllow: set(policy.merchants, "allow"), merBlock: set(policy.merchants, "block"),
    daysMask,
  };
  compiledCache.set(policy, c);
  return c;
}

const BUDGETS = [
  ["daily", "dailyMinor", "POLICY_DAILY_BUDGET_EXCEEDED"],
  ["weekly", "weeklyMinor", "POLICY_WEEKLY_BUDGET_EXCEEDED"],
  ["monthly", "monthlyMinor", "POLICY_MONTHLY_BUDGET_EXCEEDED"],
  ["rolling24h", "rolling24hMinor", "POLICY_ROLLING_BUDGET_EXCEEDED"],
] as const;

/**
 * Spend in the current window. A window later than `atMs`'s own was seen before the clock went
 * back: it is still the current one (windows never reopen), so its spend counts.
 */
function used(usage: Usage, window: BudgetWindow, ids: { day: string; week: string; month: string }, atMs: number): bigint {
  switch (window) {
    case "daily": return usage.day && usage.day.id >= ids.day ? usage.day.spentMinor : 0n;
    case "weekly": return usage.week && usage.week.id >= ids.week ? usage.week.spentMinor : 0n;
    case "monthly": return usage.month && usage.month.id >= ids.month ? usage.month.spentMinor : 0n;
    case "rolling24h": return rollingSpent(usage, atMs);
  }
}

function paymentsToday(usage: Usage, dayId: string): number {
  return usage.day && usage.day.id >= dayId ? usage.day.count : 0;
}

/** Whether the local wall-clock time of `atMs` is inside the policy's active hours (true without active hours). */
export function withinActiveHours(policy: Policy, atMs: number, timeZone: string): boolean {
  const h = policy.activeHours;
  if (!h) return true;
  const { weekday, minuteOfDay } = localTime(atMs, timeZone);
  const mask = compile(policy).daysMask;
  if (h.fromMinute < h.toMinute) {
    return minuteOfDay >= h.fromMinute && minuteOfDay < h.toMinute && (mask & (1 << weekday)) !== 0;
  }
  // crosses midnight: the evening part belongs to today's window, the early part to yesterday's
  if (minuteOfDay >= h.fromMinute) return (mask & (1 << weekday)) !== 0;
  if (minuteOfDay < h.toMinute) return (mask & (1 << ((weekday + 6) % 7))) !== 0;
  return false;
}

function decline(reasons: PolicyReason[], code: PolicyDeclineCode, message: string, details?: Record<string, unknown>): void {
  reasons.push(details ? { code, message, details } : { code, message });
}

/**
 * Decides a payment under a policy, given the sub-wallet's live usage: pure, O(1).
 * Every decline reason is reported; a budget allows usage + amount up to and including
 * its limit. Amount rules are skipped when the currency does not match the policy's.
 */
export function evaluatePolicy(policy: Policy, usage: Usage, intent: PolicyIntent, timeZone: string): Verdict {
  const { amountMinor, currency, merchantId, atMs } = intent;
  if (typeof amountMinor !== "bigint" || amountMinor <= 0n) {
    throw new AgentPayError("INVALID_AMOUNT", "intent.amountMinor must be a positive bigint", { field: "intent.amountMinor" });
  }
  const category = intent.category ?? undefined;
  const reasons: PolicyReason[] = [];
  const c = compile(policy);
  const sameCurrency = currency === policy.currency;
  if (!sameCurrency) {
    decline(reasons, "POLICY_CURRENCY_MISMATCH", `the sub-wallet pays in ${policy.currency}`, { expected: policy.currency, actual: currency });
  }
  if (policy.expiresAtMs !== undefined && atMs >= policy.expiresAtMs) {
    decline(reasons, "POLICY_EXPIRED", "the sub-wallet's policy has expired", { expiresAtMs: policy.expiresAtMs });
  }
  if (!withinActiveHours(policy, atMs, timeZone)) {
    decline(reasons, "POLICY_OUTSIDE_ACTIVE_HOURS", "payments are not allowed at this time of day", { timeZone });
  }
  if (c.merBlock?.has(merchantId)) {
    decline(reasons, "POLICY_MERCHANT_BLOCKED", "this merchant is blocked", { merchantId });
  } else if (c.merAllow && !c.merAllow.has(merchantId)) {
    decline(reasons, "POLICY_MERCHANT_NOT_ALLOWED", "this merchant is not on the allowed list", { merchantId });
  }
  if (category !== undefined && c.catBlock?.has(category)) {
    decline(reasons, "POLICY_CATEGORY_BLOCKED", "this merchant category is blocked", { category });
  } else if (c.catAllow && (category === undefined || !c.catAllow.has(category))) {
    decline(reasons, "POLICY_CATEGORY_NOT_ALLOWED", "this merchant category is not on the allowed list", { category: category ?? null });
  }
  const ids = windowIds(atMs, timeZone);
  if (sameCurrency) {
    if (policy.perPaymentMinor !== undefined && amountMinor > policy.perPaymentMinor) {
      decline(reasons, "POLICY_PER_PAYMENT_EXCEEDED", "the amount is above the per-payment limit",
        { limitMinor: policy.perPaymentMinor, amountMinor });
    }
    for (const [window, key, code] of BUDGETS) {
      const limitMinor = policy[key];
      if (limitMinor === undefined) continue;
      const usedMinor = used(usage, window, ids, atMs);
      if (usedMinor + amountMinor > limitMinor) {
        const windowId = window === "daily" ? ids.day : window === "weekly" ? ids.week : window === "monthly" ? ids.month : undefined;
        decline(reasons, code, `the ${window} budget would be exceeded`, {
          window, ...(windowId ? { windowId } : {}), limitMinor, usedMinor, amountMinor,
          remainingMinor: limitMinor > usedMinor ? limitMinor - usedMinor : 0n,
        });
      }
    }
  }
  if (policy.maxPaymentsPerDay !== undefined) {
    const count = paymentsToday(usage, ids.day);
    if (count + 1 > policy.maxPaymentsPerDay) {
      decline(reasons, "POLICY_MAX_PAYMENTS_PER_DAY", "the maximum number of payments for today is reached",
        { max: policy.maxPaymentsPerDay, count, windowId: ids.day });
    }
  }
  const version = policy.version;
  if (reasons.length > 0) return version === undefined ? { outcome: "decline", reasons } : { outcome: "decline", reasons, policyVersion: version };
  if (policy.approvalAboveMinor !== undefined && amountMinor > policy.approvalAboveMinor) {
    const r: PolicyReason = {
      code: "APPROVAL_THRESHOLD", message: "the amount is above the approval threshold",
      details: { thresholdMinor: policy.approvalAboveMinor, amountMinor },
    };
    return version === undefined ? { outcome: "review", reasons: [r] } : { outcome: "review", reasons: [r], policyVersion: version };
  }
  return version === undefined ? { outcome: "allow", reasons: [] } : { outcome: "allow", reasons: [], policyVersion: version };
}

function status(window: BudgetWindow, usedMinor: bigint, limitMinor: bigint | undefined, windowId?: string): WindowStatus {
  const base = windowId === undefined ? { window, usedMinor } : { window, windowId, usedMinor };
  if (limitMinor === undefined) return base;
  const usedPercent = limitMinor === 0n ? 100 : Number((usedMinor * 100n) / limitMinor);
  return { ...base, limitMinor, remainingMinor: limitMinor > usedMinor ? limitMinor - usedMinor : 0n, usedPercent };
}

/** Used and remaining budget per window at `atMs`: for balance views and "budget percentage used" notifications. */
export function budgetStatus(policy: Policy, usage: Usage, atMs: number, timeZone: string): BudgetStatus {
  const ids = windowIds(atMs, timeZone);
  const count = paymentsToday(usage, ids.day);
  return {
    currency: policy.currency,
    daily: status("daily", used(usage, "daily", ids, atMs), policy.dailyMinor, ids.day),
    weekly: status("weekly", used(usage, "weekly", ids, atMs), policy.weeklyMinor, ids.week),
    monthly: status("monthly", used(usage, "monthly", ids, atMs), policy.monthlyMinor, ids.month),
    rolling24h: status("rolling24h", used(usage, "rolling24h", ids, atMs), policy.rolling24hMinor),
    paymentsToday: policy.maxPaymentsPerDay === undefined ? { count } : { count, max: policy.maxPaymentsPerDay },
  };
}
