/**
 * Sub-wallet spending policy: parse and validate what the person writes, keep usage
 * counters per calendar window (in the wallet's IANA time zone) and a rolling 24 h,
 * and decide payments as a pure function policy × usage × intent → verdict.
 */
export { parsePolicy, formatPolicy, POLICY_LIMITS } from "./parse.ts";
export {
  emptyUsage, addUsage, removeUsage, rollingSpent, ROLLING_WINDOW_MS, ROLLING_BUCKET_MS, MAX_ROLLING_BUCKETS,
} from "./usage.ts";
export { evaluatePolicy, budgetStatus, withinActiveHours } from "./evaluate.ts";
export { windowIds, localTime, zoneOffsetMs, validateTimeZone, WEEKDAYS } from "./time.ts";
export { POLICY_DECLINE_CODES, POLICY_REVIEW_CODES } from "./types.ts";
export type { Weekday, WindowIds, LocalTime } from "./time.ts";
export type {
  Policy, PolicyInput, ListInput, PolicyList, ActiveHours, Usage, UsageEntry, UsageRemoval, WindowUsage, DayUsage,
  RollingBucket, PolicyIntent, PolicyReason, PolicyReasonCode, PolicyDeclineCode, PolicyReviewCode, Verdict,
  VerdictOutcome, BudgetStatus, BudgetWindow, WindowStatus,
} from "./types.ts";
