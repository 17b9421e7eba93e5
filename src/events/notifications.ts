import { AgentPayError, encodeJson, isAgentPayError, parseMinor } from "../core/index.ts";
import { validateDestination } from "./outbox.ts";
import type { Destination, EventData, EventInput } from "./types.ts";

/** Where notifications go when a rule names no channel: in-process subscribers of this topic. */
export const NOTIFICATIONS_TOPIC = "notifications";
export const MAX_NOTIFICATION_RULES = 32;

/** A person's notification rules, as data (stored in a sub-wallet's policy). */
export type NotificationRule = (
  | { when: "payment" }
  | { when: "amount_above"; amountMinor: bigint; currency?: string }
  | { when: "budget_used"; percent: number; window?: string }
  | { when: "new_merchant" }
  | { when: "declined" }
  | { when: "approval_needed" }
  | { when: "grant_expiring"; withinMs: number }
) & { channel?: Destination };

export type NotificationWhen = NotificationRule["when"];

/** One budget window's usage, before and after the fact. */
export interface BudgetUsage {
  /** "daily", "weekly", "monthly", "rolling24h", … */
  window: string;
  limitMinor: bigint;
  usedMinor: bigint;
  /** Defaults to usedMinor − the fact's amountMinor (a payment), or usedMinor (anything else). */
  usedBeforeMinor?: bigint;
}

/** What happened, as the module that saw it describes it. */
export interface NotificationFact {
  kind: "payment" | "refund" | "declined" | "approval_needed" | "grant_expiring";
  amountMinor?: bigint;
  currency?: string;
  /** Payments: this is the sub-wallet's first payment to this merchant. */
  firstPaymentToMerchant?: boolean;
  budgets?: readonly BudgetUsage[];
  /** Declines and approvals: why. */
  reasons?: readonly string[];
  /** grant_expiring: when it expires, and now. */
  expiresAtMs?: number;
  nowMs?: number;
  /** Ids: walletId, subWalletId, agentId, grantId, merchantId, paymentId, approvalId, … */
  subject?: Readonly<Record<string, string>>;
}

const WHENS = new Set<string>(["payment", "amount_above", "budget_used", "new_merchant", "declined", "approval_needed", "grant_expiring"]);
const FACT_KINDS = new Set<string>(["payment", "refund", "declined", "approval_needed", "grant_expiring"]);
const ALLOWED_KEYS: Record<string, readonly string[]> = {
  payment: [],
  amount_above: ["amountMinor", "currency"],
  budget_used: ["percent", "window"],
  new_merchant: [],
  declined: [],
  approval_needed: [],
  grant_expiring: ["withinMs"],
};
const CURRENCY_RE = /^[A-Za-z0-9:._-]{1,64}$/;
const WINDOW_RE = /^[A-Za-z0-9_]{1,32}$/;
const MAX_WITHIN_MS = 366 * 86_400_000;

function bad(message: string, field: string): AgentPayError {
  return new AgentPayError("INVALID_INPUT", message, { field });
}

function validateRule(input: unknown, i: number): NotificationRule {
  const field = `rules[${i}]`;
  if (input === null || typeof input !== "object" || Array.isArray(input)) throw bad(`${field} must be an object`, field);
  const r = input as Record<string, unknown>;
  if (typeof r.when !== "string" || !WHENS.has(r.when)) {
    throw bad(`${field}.when must be one of ${[...WHENS].join(", ")}`, `${field}.when`);
  }
  const allowed = ALLOWED_KEYS[r.when]!;
  for (const k of Object.keys(r)) {
    if (k !== "when" && k !== "channel" && !allowed.includes(k)) throw bad(`${field}: unknown field ${k}`, `${field}.${k}`);
  }
  const channel = r.channel === undefined ? undefined : validateDestination(r.channel, `${field}.channel`);
  const withChannel = <T extends object>(rule: T): T & { channel?: Destination } => (channel ? { ...rule, channel } : rule);
  switch (r.when) {
    case "amount_above": {
      let amountMinor: bigint;
      try {
        amountMinor = parseMinor(r.amountMinor, `${field}.amountMinor`);
      } catch (e) {
        if (isAgentPayError(e)) throw bad(e.message, `${field}.amountMinor`);
        throw e;
      }
      if (r.currency !== undefined && (typeof r.currency !== "string" || !CURRENCY_RE.test(r.currency))) {
        throw bad(`${field}.currency must be a currency code`, `${field}.currency`);
      }
      return withChannel({ when: "amount_above" as const, amountMinor, ...(r.currency !== undefined ? { currency: r.currency as string } : {}) });
    }
    case "budget_used": {
      if (typeof r.percent !== "number" || !Number.isInteger(r.percent) || r.percent < 1 || r.percent > 100) {
        throw bad(`${field}.percent must be an integer from 1 to 100`, `${field}.percent`);
      }
      if (r.window !== undefined && (typeof r.window !== "string" || !WINDOW_RE.test(r.window))) {
        throw bad(`${field}.window must be a budget window name such as daily`, `${field}.window`);
      }
      return withChannel({ when: "budget_used" as const, percent: r.percent, ...(r.window !== undefined ? { window: r.window as string } : {}) });
    }
    case "grant_expiring": {
      if (typeof r.withinMs !== "number" || !Number.isInteger(r.withinMs) || r.withinMs < 1 || r.withinMs > MAX_WITHIN_MS) {
        throw bad(`${field}.withinMs must be an integer from 1 to ${MAX_WITHIN_MS}`, `${field}.withinMs`);
      }
      return withChannel({ when: "grant_expiring" as const, withinMs: r.withinMs });
    }
    default:
      return withChannel({ when: r.when as "payment" | "new_merchant" | "declined" | "approval_needed" });
  }
}

/**
 * Validates notification rules from outside (policy input) and returns clean copies:
 * amounts as bigint (digit strings accepted), unknown fields refused. Throws INVALID_INPUT.
 */
export function validateNotificationRules(input: unknown): NotificationRule[] {
  if (!Array.isArray(input)) throw bad("notification rules must be an array", "rules");
  if (input.length > MAX_NOTIFICATION_RULES) throw bad(`at most ${MAX_NOTIFICATION_RULES} notification rules`, "rules");
  return input.map((r, i) => validateRule(r, i));
}

function validateFact(f: unknown): NotificationFact {
  if (f === null || typeof f !== "object" || Array.isArray(f)) throw bad("fact must be an object", "fact");
  const fact = f as NotificationFact;
  if (typeof fact.kind !== "string" || !FACT_KINDS.has(fact.kind)) throw bad("fact.kind is not a known kind", "fact.kind");
  if (fact.amountMinor !== undefined && (typeof fact.amountMinor !== "bigint" || fact.amountMinor < 0n)) {
    throw bad("fact.amountMinor must be a non-negative bigint", "fact.amountMinor");
  }
  if (fact.budgets !== undefined) {
    if (!Array.isArray(fact.budgets)) throw bad("fact.budgets must be an array", "fact.budgets");
    for (const b of fact.budgets) {
      if (b === null || typeof b !== "object" || typeof b.window !== "string" || typeof b.limitMinor !== "bigint" ||
        typeof b.usedMinor !== "bigint" || (b.usedBeforeMinor !== undefined && typeof b.usedBeforeMinor !== "bigint")) {
        throw bad("fact.budgets entries need window, limitMinor and usedMinor (bigint)", "fact.budgets");
      }
    }
  }
  if (fact.kind === "grant_expiring" && (typeof fact.expiresAtMs !== "number" || typeof fact.nowMs !== "number")) {
    throw bad("a grant_expiring fact needs expiresAtMs and nowMs", "fact.expiresAtMs");
  }
  return fact;
}

type Match = { when: NotificationWhen } & Record<string, EventData>;

/** Does `rule` fire for `fact`? Returns what to report about the match, or undefined. */
function match(rule: NotificationRule, fact: NotificationFact): Match | undefined {
  switch (rule.when) {
    case "payment":
      return fact.kind === "payment" || fact.kind === "refund" ? { when: "payment" } : undefined;
    case "amount_above":
      if (fact.kind !== "payment" || fact.amountMinor === undefined) return undefined;
      if (rule.currency !== undefined && fact.currency !== undefined && rule.currency !== fact.currency) return undefined;
      return fact.amountMinor > rule.amountMinor ? { when: "amount_above", amountMinor: rule.amountMinor } : undefined;
    case "budget_used": {
      if (fact.kind !== "payment" || !fact.budgets) return undefined;
      // Fires once, on the payment that crosses the threshold: before < percent% ≤ after.
      const crossed: EventData[] = [];
      for (const b of fact.budgets) {
        if (rule.window !== undefined && b.window !== rule.window) continue;
        if (b.limitMinor <= 0n) continue;
        const before = b.usedBeforeMinor ?? b.usedMinor - (fact.amountMinor ?? 0n);
        const threshold = BigInt(rule.percent) * b.limitMinor; // compared against used × 100
        if (before * 100n < threshold && b.usedMinor * 100n >= threshold) {
          crossed.push({ window: b.window, usedMinor: b.usedMinor, limitMinor: b.limitMinor });
        }
      }
      return crossed.length > 0 ? { when: "budget_used", percent: rule.percent, budgets: crossed } : undefined;
    }
    case "new_merchant":
      return fact.kind === "payment" && fact.firstPaymentToMerchant === true ? { when: "new_merchant" } : undefined;
    case "declined":
      return fact.kind === "declined" ? { when: "declined" } : undefined;
    case "approval_needed":
      return fact.kind === "approval_needed" ? { when: "approval_needed" } : undefined;
    case "grant_expiring": {
      if (fact.kind !== "grant_expiring") return undefined;
      const left = fact.expiresAtMs! - fact.nowMs!;
      return left > 0 && left <= rule.withinMs ? { when: "grant_expiring", withinMs: rule.withinMs } : undefined;
    }
  }
}

const DEFAULT_CHANNEL: Destination = { kind: "topic", topic: NOTIFICATIONS_TOPIC };

/**
 * The notifications a fact triggers under the person's rules: pure, so it can run inside
 * the engine command that records the fact; append each result with `appendEvent`.
 * Rules that fire for the same channel are merged into ONE notification listing every
 * match (a €500 first payment to a new shop is one message, not three). Rules without a
 * channel go to the in-process `notifications` topic. Throws INVALID_INPUT for bad rules
 * or a bad fact.
 */
export function notificationsFor(rules: unknown, fact: NotificationFact): EventInput[] {
  const valid = validateNotificationRules(rules);
  const f = validateFact(fact);
  const byChannel = new Map<string, { channel: Destination; matched: Match[] }>();
  for (const rule of valid) {
    const m = match(rule, f);
    if (!m) continue;
    const channel = rule.channel ?? DEFAULT_CHANNEL;
    const key = encodeJson(channel);
    const group = byChannel.get(key);
    if (group) group.matched.push(m);
    else byChannel.set(key, { channel, matched: [m] });
  }
  const out: EventInput[] = [];
  for (const { channel, matched } of byChannel.values()) {
    const data: Record<string, EventData> = { fact: f.kind, matched };
    if (f.amountMinor !== undefined) data.amountMinor = f.amountMinor;
    if (f.currency !== undefined) data.currency = f.currency;
    if (f.reasons !== undefined) data.reasons = [...f.reasons];
    if (f.firstPaymentToMerchant !== undefined) data.firstPaymentToMerchant = f.firstPaymentToMerchant;
    if (f.kind === "grant_expiring") data.expiresAtMs = f.expiresAtMs!;
    out.push({ type: "notification", subject: { ...f.subject }, data, destinations: [channel] });
  }
  return out;
}
