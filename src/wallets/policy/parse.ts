import { AgentPayError, CurrencyRegistry, defaultCurrencies, formatAmount, isAgentPayError, parseAmount } from "../../core/index.ts";
import { WEEKDAYS, type Weekday } from "./time.ts";
import type { ActiveHours, Policy, PolicyInput, PolicyList } from "./types.ts";

const TOP_KEYS = new Set([
  "perPayment", "daily", "weekly", "monthly", "rolling24h", "approvalAbove", "categories", "merchants",
  "activeHours", "expiresAt", "maxPaymentsPerDay", "notify",
]);
const AMOUNT_KEYS = [
  ["perPayment", "perPaymentMinor"],
  ["daily", "dailyMinor"],
  ["weekly", "weeklyMinor"],
  ["monthly", "monthlyMinor"],
  ["rolling24h", "rolling24hMinor"],
  ["approvalAbove", "approvalAboveMinor"],
] as const;
const LIST_KEYS = new Set(["allow", "block"]);
const HOURS_KEYS = new Set(["from", "to", "days"]);

/** Bounds that keep a stored policy small. */
export const POLICY_LIMITS = Object.freeze({ maxListEntries: 1000, maxNotifyRules: 50, maxPaymentsPerDay: 1_000_000 });

const MCC_RE = /^\d{4}$/;
const MERCHANT_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,127}$/;
const TIME_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})$/;

function bad(field: string, message: string, extra: Record<string, unknown> = {}): never {
  throw new AgentPayError("INVALID_INPUT", `policy.${field}: ${message}`, { field, ...extra });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function checkKeys(obj: Record<string, unknown>, allowed: Set<string>, prefix: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) bad(prefix ? `${prefix}.${k}` : k, "unknown field", { allowed: [...allowed] });
  }
}

function parsePolicyAmount(value: unknown, field: string, currency: string, registry: CurrencyRegistry): bigint {
  try {
    return parseAmount(value, currency, registry).minor;
  } catch (e) {
    if (isAgentPayError(e, "INVALID_AMOUNT")) {
      throw new AgentPayError("INVALID_AMOUNT", `policy.${field}: ${e.message}`, { ...e.details, field });
    }
    throw e;
  }
}

function parseList(value: unknown, field: string, entry: RegExp, what: string): PolicyList | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) bad(field, "must be an object { allow?, block? }");
  checkKeys(value, LIST_KEYS, field);
  const out: { allow?: readonly string[]; block?: readonly string[] } = {};
  for (const key of ["allow", "block"] as const) {
    const list = value[key];
    if (list === undefined) continue;
    const path = `${field}.${key}`;
    if (!Array.isArray(list)) bad(path, `must be an array of ${what}`);
    if (list.length > POLICY_LIMITS.maxListEntries) bad(path, `at most ${POLICY_LIMITS.maxListEntries} entries`);
    if (key === "allow" && list.length === 0) bad(path, "an empty allow list would refuse everything; omit it to allow all");
    const seen = new Set<string>();
    list.forEach((x: unknown, i: number) => {
      if (typeof x !== "string" || !entry.test(x)) bad(`${path}[${i}]`, `must be ${what}`);
      seen.add(x);
    });
    if (seen.size > 0) out[key] = Object.freeze([...seen]);
  }
  if (out.allow && out.block) {
    const block = new Set(out.block);
    const both = out.allow.find((x) => block.has(x));
    if (both !== undefined) bad(field, `${both} is both allowed and blocked`, { value: both });
  }
  return out.allow || out.block ? Object.freeze(out) : undefined;
}

function parseTime(value: unknown, field: string, allow24: boolean): number {
  if (typeof value === "string") {
    if (allow24 && value === "24:00") return 1440;
    const m = TIME_RE.exec(value);
    if (m) return Number(m[1]) * 60 + Number(m[2]);
  }
  return bad(field, allow24 ? 'must be a time "HH:MM" from "00:00" to "24:00"' : 'must be a time "HH:MM" from "00:00" to "23:59"');
}

function parseActiveHours(value: unknown): ActiveHours | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) bad("activeHours", "must be an object { from, to, days? }");
  checkKeys(value, HOURS_KEYS, "activeHours");
  const fromMinute = parseTime(value.from, "activeHours.from", false);
  const toMinute = parseTime(value.to, "activeHours.to", true);
  if (fromMinute === toMinute) bad("activeHours", 'from and to are equal; use "00:00" to "24:00" for the whole day');
  let days: readonly Weekday[] | undefined;
  if (value.days !== undefined) {
    if (!Array.isArray(value.days) || value.days.length === 0) bad("activeHours.days", 'must be a non-empty array of "mon" … "sun"');
    const set = new Set<Weekday>();
    value.days.forEach((d: unknown, i: number) => {
      if (typeof d !== "string" || !(WEEKDAYS as readonly string[]).includes(d)) {
        bad(`activeHours.days[${i}]`, 'must be one of "mon", "tue", "wed", "thu", "fri", "sat", "sun"');
      }
      set.add(d as Weekday);
    });
    days = Object.freeze(WEEKDAYS.filter((d) => set.has(d)));
  }
  return Object.freeze(days ? { fromMinute, toMinute, days } : { fromMinute, toMinute });
}

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function parseExpiresAt(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0 || value > 8.64e15) bad("expiresAt", "must be epoch milliseconds (a non-negative integer)");
    return value;
  }
  if (typeof value !== "string") return bad("expiresAt", "must be an ISO 8601 date-time with an offset, or epoch milliseconds");
  const m = ISO_RE.exec(value);
  if (!m) return bad("expiresAt", 'must be an ISO 8601 date-time with an offset or Z, e.g. "2026-12-31T23:59:00Z"');
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? "0"].map(Number) as [number, number, number, number, number, number];
  const ms = Number((m[7] ?? "").padEnd(3, "0"));
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) {
    bad("expiresAt", "is not a valid date-time", { value });
  }
  let offsetMin = 0;
  const tz = m[8]!;
  if (tz !== "Z") {
    const oh = Number(tz.slice(1, 3));
    const om = Number(tz.slice(4, 6));
    if (oh > 23 || om > 59) bad("expiresAt", "has an invalid offset", { value });
    offsetMin = (tz[0] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const at = Date.UTC(y, mo - 1, d, h, mi, s, ms) - offsetMin * 60_000;
  if (at < 0) bad("expiresAt", "is before 1970");
  return at;
}

/**
 * Validates a policy as the person writes it and returns the stored form: amounts as
 * bigint minor units of `currency`, times as minutes, lists deduplicated. Strict: unknown
 * fields, wrong types, negative, fractional or over-precise amounts, bad MCCs and bad
 * times are refused with INVALID_INPUT / INVALID_AMOUNT and `details.field` naming the
 * offending path (e.g. `categories.allow[2]`). The result has no `version`: the caller assigns it.
 */
export function parsePolicy(input: unknown, currency: string, registry: CurrencyRegistry = defaultCurrencies): Policy {
  registry.exponent(currency); // UNKNOWN_CURRENCY
  if (!isPlainObject(input)) {
    throw new AgentPayError("INVALID_INPUT", "policy must be an object", { field: "policy" });
  }
  checkKeys(input, TOP_KEYS, "");
  const out: Record<string, unknown> = { currency };
  for (const [key, stored] of AMOUNT_KEYS) {
    if (input[key] !== undefined) out[stored] = parsePolicyAmount(input[key], key, currency, registry);
  }
  const categories = parseList(input.categories, "categories", MCC_RE, "a 4-digit MCC string");
  if (categories) out.categories = categories;
  const merchants = parseList(input.merchants, "merchants", MERCHANT_RE, "a merchant id (1-128 characters, no spaces)");
  if (merchants) out.merchants = merchants;
  const activeHours = parseActiveHours(input.activeHours);
  if (activeHours) out.activeHours = activeHours;
  const expiresAtMs = parseExpiresAt(input.expiresAt);
  if (expiresAtMs !== undefined) out.expiresAtMs = expiresAtMs;
  if (input.maxPaymentsPerDay !== undefined) {
    const n = input.maxPaymentsPerDay;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > POLICY_LIMITS.maxPaymentsPerDay) {
      bad("maxPaymentsPerDay", `must be an integer from 0 to ${POLICY_LIMITS.maxPaymentsPerDay}`);
    }
    out.maxPaymentsPerDay = n;
  }
  if (input.notify !== undefined) {
    if (!Array.isArray(input.notify)) bad("notify", "must be an array of notification rules");
    if (input.notify.length > POLICY_LIMITS.maxNotifyRules) bad("notify", `at most ${POLICY_LIMITS.maxNotifyRules} rules`);
    out.notify = Object.freeze([...input.notify]);
  }
  return Object.freeze(out) as unknown as Policy;
}

/** The user-facing form of a stored policy (decimal strings, "HH:MM", ISO expiry); parsePolicy(formatPolicy(p)) equals p without its version. */
export function formatPolicy(policy: Policy, registry: CurrencyRegistry = defaultCurrencies): PolicyInput {
  const out: PolicyInput = {};
  for (const [key, stored] of AMOUNT_KEYS) {
    const v = policy[stored];
    if (v !== undefined) out[key] = formatAmount({ minor: v, currency: policy.currency }, registry);
  }
  for (const key of ["categories", "merchants"] as const) {
    const l = policy[key];
    if (!l) continue;
    const list: { allow?: string[]; block?: string[] } = {};
    if (l.allow) list.allow = [...l.allow];
    if (l.block) list.block = [...l.block];
    out[key] = list;
  }
  if (policy.activeHours) {
    const { fromMinute, toMinute, days } = policy.activeHours;
    const hm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
    out.activeHours = days ? { from: hm(fromMinute), to: hm(toMinute), days: [...days] } : { from: hm(fromMinute), to: hm(toMinute) };
  }
  if (policy.expiresAtMs !== undefined) out.expiresAt = new Date(policy.expiresAtMs).toISOString();
  if (policy.maxPaymentsPerDay !== undefined) out.maxPaymentsPerDay = policy.maxPaymentsPerDay;
  if (policy.notify) out.notify = [...policy.notify];
  return out;
}
