import { AgentPayError } from "../../core/index.ts";
import { windowIds } from "./time.ts";
import type { DayUsage, RollingBucket, Usage, UsageEntry, UsageRemoval, WindowUsage } from "./types.ts";

export const ROLLING_WINDOW_MS = 24 * 3_600_000;
/** Rolling-24h bucket width. A bucket's spend counts until 24 h after its latest payment: never early, at most this much late. */
export const ROLLING_BUCKET_MS = 10 * 60_000;
/** 24 h of buckets plus slack; beyond it the two oldest merge (conservatively). */
export const MAX_ROLLING_BUCKETS = ROLLING_WINDOW_MS / ROLLING_BUCKET_MS + 8;

const EMPTY: Usage = Object.freeze({ rolling: Object.freeze({ totalMinor: 0n, buckets: Object.freeze([]) as readonly RollingBucket[] }) });

/** Usage of a sub-wallet that has not paid anything yet. */
export function emptyUsage(): Usage {
  return EMPTY;
}

function checkAmount(amountMinor: unknown, field: string): void {
  if (typeof amountMinor !== "bigint" || amountMinor < 0n) {
    throw new AgentPayError("INVALID_AMOUNT", `${field} must be a non-negative bigint`, { field });
  }
}

function checkMs(atMs: unknown, field: string): void {
  if (!Number.isSafeInteger(atMs)) {
    throw new AgentPayError("INVALID_INPUT", `${field} must be an integer timestamp in milliseconds`, { field });
  }
}

function bucketStart(atMs: number): number {
  return Math.floor(atMs / ROLLING_BUCKET_MS) * ROLLING_BUCKET_MS;
}

/** Number of leading buckets no longer counting at `atMs`. */
export function expiredHead(buckets: readonly RollingBucket[], atMs: number): number {
  let i = 0;
  while (i < buckets.length && buckets[i]!.lastAtMs + ROLLING_WINDOW_MS <= atMs) i++;
  return i;
}

/** Rolling-24h spend that still counts at `atMs` (conservative: see ROLLING_BUCKET_MS). */
export function rollingSpent(usage: Usage, atMs: number): bigint {
  const { buckets, totalMinor } = usage.rolling;
  let total = totalMinor;
  for (let i = 0; i < buckets.length && buckets[i]!.lastAtMs + ROLLING_WINDOW_MS <= atMs; i++) total -= buckets[i]!.spentMinor;
  return total;
}

/**
 * Windows never reopen because the clock went back: a payment dated in an earlier window than the
 * latest one seen counts in that latest one (ids of one kind sort in time order). Otherwise a clock
 * stepped back across midnight (or a week's or month's end) would count against an empty window.
 */
function addToWindow<W extends WindowUsage>(w: W | undefined, id: string, make: (id: string, prev: W | undefined) => W): W {
  if (w === undefined || id > w.id) return make(id, undefined); // a new window replaces the finished one
  return make(w.id, w);
}

/**
 * Counts a payment: adds it to the calendar windows of `atMs` (in `timeZone`) and to the
 * rolling-24h buckets, dropping finished windows and expired buckets. Returns a new
 * Usage; the argument is never mutated.
 */
export function addUsage(usage: Usage, entry: UsageEntry, timeZone: string): Usage {
  const { amountMinor, atMs } = entry;
  checkAmount(amountMinor, "entry.amountMinor");
  checkMs(atMs, "entry.atMs");
  const ids = windowIds(atMs, timeZone);
  const day = addToWindow<DayUsage>(usage.day, ids.day, (id, p) =>
    Object.freeze({ id, spentMinor: (p?.spentMinor ?? 0n) + amountMinor, count: (p?.count ?? 0) + 1 }));
  const week = addToWindow<WindowUsage>(usage.week, ids.week, (id, p) =>
    Object.freeze({ id, spentMinor: (p?.spentMinor ?? 0n) + amountMinor }));
  const month = addToWindow<WindowUsage>(usage.month, ids.month, (id, p) =>
    Object.freeze({ id, spentMinor: (p?.spentMinor ?? 0n) + amountMinor }));

  // rolling: prune what no longer counts, then add to the payment's bucket
  const old = usage.rolling.buckets;
  const head = expiredHead(old, atMs);
  let total = usage.rolling.totalMinor;
  for (let i = 0; i < head; i++) total -= old[i]!.spentMinor;
  const buckets = old.slice(head);
  const start = bucketStart(atMs);
  let i = buckets.length;
  while (i > 0 && buckets[i - 1]!.startMs > start) i--;
  const prev = i > 0 && buckets[i - 1]!.startMs === start ? buckets[i - 1] : undefined;
  if (prev) {
    buckets[i - 1] = Object.freeze({ startMs: start, lastAtMs: Math.max(prev.lastAtMs, atMs), spentMinor: prev.spentMinor + amountMinor });
  } else {
    buckets.splice(i, 0, Object.freeze({ startMs: start, lastAtMs: atMs, spentMinor: amountMinor }));
  }
  total += amountMinor;
  while (buckets.length > MAX_ROLLING_BUCKETS) {
    // only reachable when timestamps run backwards: merge the two oldest, keeping the later expiry
    const [a, b] = buckets as [RollingBucket, RollingBucket];
    buckets.splice(0, 2, Object.freeze({ startMs: a.startMs, lastAtMs: Math.max(a.lastAtMs, b.lastAtMs), spentMinor: a.spentMinor + b.spentMinor }));
  }
  return freezeUsage(day, week, month, total, buckets);
}

function freezeUsage(day: DayUsage | undefined, week: WindowUsage | undefined, month: WindowUsage | undefined,
  totalMinor: bigint, buckets: RollingBucket[]): Usage {
  const out: { day?: DayUsage; week?: WindowUsage; month?: WindowUsage; rolling: Usage["rolling"] } = {
    rolling: Object.freeze({ totalMinor, buckets: Object.freeze(buckets) }),
  };
  if (day) out.day = day;
  if (week) out.week = week;
  if (month) out.month = month;
  return Object.freeze(out);
}

function minus(a: bigint, b: bigint): bigint {
  return a > b ? a - b : 0n;
}

/**
 * Gives back budget for a refund or void of a payment counted at `originalAtMs`: each
 * calendar window is restored only if the payment was counted in it and it is still the
 * current window at `atMs` (the latest seen, if the clock has gone back since); the rolling
 * bucket only while it still counts. Never below zero. A payment made while the clock was behind
 * counted in a later window than its own date's, and gives nothing back (the conservative side).
 * `cancelsPayment` (a void) also gives back the day's payment count.
 * Returns a new Usage; the argument is never mutated.
 */
export function removeUsage(usage: Usage, removal: UsageRemoval, timeZone: string): Usage {
  const { amountMinor, atMs, originalAtMs } = removal;
  checkAmount(amountMinor, "removal.amountMinor");
  checkMs(atMs, "removal.atMs");
  checkMs(originalAtMs, "removal.originalAtMs");
  const now = windowIds(atMs, timeZone);
  const then = windowIds(originalAtMs, timeZone);
  let { day, week, month } = usage;
  if (day && day.id === then.day && day.id >= now.day) {
    day = Object.freeze({ id: day.id, spentMinor: minus(day.spentMinor, amountMinor), count: removal.cancelsPayment ? Math.max(0, day.count - 1) : day.count });
  }
  if (week && week.id === then.week && week.id >= now.week) {
    week = Object.freeze({ id: week.id, spentMinor: minus(week.spentMinor, amountMinor) });
  }
  if (month && month.id === then.month && month.id >= now.month) {
    month = Object.freeze({ id: month.id, spentMinor: minus(month.spentMinor, amountMinor) });
  }
  const old = usage.rolling.buckets;
  const start = bucketStart(originalAtMs);
  const idx = old.findIndex((b) => b.startMs === start);
  let total = usage.rolling.totalMinor;
  let buckets = old as RollingBucket[];
  const hit = idx >= 0 ? old[idx]! : undefined;
  if (hit && hit.lastAtMs + ROLLING_WINDOW_MS > atMs) {
    const taken = hit.spentMinor < amountMinor ? hit.spentMinor : amountMinor;
    buckets = old.slice();
    buckets[idx] = Object.freeze({ startMs: hit.startMs, lastAtMs: hit.lastAtMs, spentMinor: hit.spentMinor - taken });
    total -= taken;
  }
  if (day === usage.day && week === usage.week && month === usage.month && buckets === old) return usage;
  return freezeUsage(day, week, month, total, buckets === old ? old.slice() : buckets);
}
