import { AgentPayError } from "../core/index.ts";
import { FEATURE_INDEX, STRING_FEATURES } from "./features.ts";
import type { RiskIntent } from "./types.ts";

export type ComparisonOp = ">" | ">=" | "<" | "<=" | "==" | "!=";
export type SetOp = "in" | "notIn";

/**
 * A condition over the features (see NUMERIC_FEATURES / STRING_FEATURES):
 * - `{ feature, op, value }` compares a feature with a constant (`in`/`notIn` take a list);
 * - `{ feature, op, ref, times? }` compares a numeric feature with another one times a factor;
 * - `{ all: [...] }`, `{ any: [...] }`, `{ not: ... }` combine conditions.
 */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { feature: string; op: ComparisonOp | SetOp; value: number | string | Array<number | string> }
  | { feature: string; op: ComparisonOp; ref: string; times?: number };

/** `decline` / `review` are hard rules: they fix the outcome (decline wins). `score` rules add up. */
export type RuleKind = "decline" | "review" | "score";

export interface Rule {
  /** Stable id, lower case: letters, digits, - _ . */
  id: string;
  kind: RuleKind;
  when: Condition;
  /** What the rule adds to the score when it fires (required for `score`, optional otherwise). */
  score?: number;
  /** Reason code, UPPER_SNAKE. */
  code: string;
  /** A human sentence; `{feature.name}` placeholders are filled with the feature's value. */
  message: string;
  enabled?: boolean;
  /** Free text for the operator (why the rule exists, what it was measured to do); not evaluated. */
  note?: string;
}

export interface RuleSet {
  version: string;
  /** A summed score ≥ review → review; ≥ decline → decline. */
  thresholds: { review: number; decline: number };
  rules: Rule[];
}

export const RULE_LIMITS = { maxRules: 200, maxConditionNodes: 64, maxDepth: 8, maxMessageChars: 300, maxListItems: 256 };

type Pred = (fv: Float64Array, intent: RiskIntent) => boolean;

export interface CompiledRule {
  id: string;
  kind: RuleKind;
  score: number;
  code: string;
  test: Pred;
  render: (fv: Float64Array, intent: RiskIntent) => string;
}

export interface CompiledRuleSet {
  source: RuleSet;
  version: string;
  review: number;
  decline: number;
  hard: CompiledRule[];   // decline rules first, then review rules
  scored: CompiledRule[];
}

function fail(path: string, message: string): never {
  throw new AgentPayError("RISK_RULES_INVALID", `invalid rule set: ${path}: ${message}`, { path });
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const STRING_SET: ReadonlySet<string> = new Set(STRING_FEATURES);
const CMP = new Set([">", ">=", "<", "<=", "==", "!="]);

function checkKeys(o: Record<string, unknown>, allowed: string[], path: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(path, `unknown field "${k}"`);
}

function stringGetter(name: string): (i: RiskIntent) => string {
  switch (name) {
    case "intent.category": return (i) => i.category;
    case "intent.merchantId": return (i) => i.merchantId;
    default: return (i) => i.currency;
  }
}

function compileCondition(c: unknown, path: string, budget: { nodes: number }, depth: number): Pred {
  if (++budget.nodes > RULE_LIMITS.maxConditionNodes) fail(path, `condition has more than ${RULE_LIMITS.maxConditionNodes} nodes`);
  if (depth > RULE_LIMITS.maxDepth) fail(path, `condition nested deeper than ${RULE_LIMITS.maxDepth}`);
  if (!isObj(c)) fail(path, "condition must be an object");
  if ("all" in c || "any" in c) {
    const key = "all" in c ? "all" : "any";
    checkKeys(c, [key], path);
    const list = c[key];
    if (!Array.isArray(list) || list.length === 0) fail(`${path}.${key}`, "must be a non-empty array");
    const preds = list.map((x, i) => compileCondition(x, `${path}.${key}[${i}]`, budget, depth + 1));
    if (key === "all") return (fv, it) => { for (const p of preds) if (!p(fv, it)) return false; return true; };
    return (fv, it) => { for (const p of preds) if (p(fv, it)) return true; return false; };
  }
  if ("not" in c) {
    checkKeys(c, ["not"], path);
    const p = compileCondition(c.not, `${path}.not`, budget, depth + 1);
    return (fv, it) => !p(fv, it);
  }
  checkKeys(c, ["feature", "op", "value", "ref", "times"], path);
  const { feature, op } = c;
  if (typeof feature !== "string") fail(`${path}.feature`, "must be a feature name");
  if (typeof op !== "string") fail(`${path}.op`, "must be an operator");
  const idx = FEATURE_INDEX.get(feature);
  const isString = STRING_SET.has(feature);
  if (idx === undefined && !isString) fail(`${path}.feature`, `unknown feature "${feature}"`);
  if ("ref" in c) {
    if ("value" in c) fail(path, "give either value or ref, not both");
    if (isString) fail(`${path}.ref`, "ref compares numeric features only");
    if (!CMP.has(op)) fail(`${path}.op`, `"${op}" cannot compare with a ref`);
    const ref = c.ref;
    const ri = typeof ref === "string" ? FEATURE_INDEX.get(ref) : undefined;
    if (ri === undefined) fail(`${path}.ref`, `unknown numeric feature "${String(ref)}"`);
    const times = c.times ?? 1;
    if (typeof times !== "number" || !Number.isFinite(times)) fail(`${path}.times`, "must be a finite number");
    const i = idx!;
    switch (op) {
      case ">": return (fv) => fv[i]! > fv[ri]! * times;
      case ">=": return (fv) => fv[i]! >= fv[ri]! * times;
      case "<": return (fv) => fv[i]! < fv[ri]! * times;
      case "<=": return (fv) => fv[i]! <= fv[ri]! * times;
      case "==": return (fv) => fv[i]! === fv[ri]! * times;
      default: return (fv) => fv[i]! !== fv[ri]! * times;
    }
  }
  if ("times" in c) fail(`${path}.times`, "only allowed with ref");
  if (!("value" in c)) fail(path, "needs a value or a ref");
  const value = c.value;
  if (op === "in" || op === "notIn") {
    if (!Array.isArray(value) || value.length === 0 || value.length > RULE_LIMITS.maxListItems) {
      fail(`${path}.value`, `must be a list of 1 to ${RULE_LIMITS.maxListItems} items`);
    }
    const want = isString ? "string" : "number";
    value.forEach((v, j) => {
      if (typeof v !== want || (want === "number" && !Number.isFinite(v))) fail(`${path}.value[${j}]`, `must be a ${want}`);
    });
    const neg = op === "notIn";
    if (isString) {
      const set = new Set(value as string[]);
      const get = stringGetter(feature);
      return (_fv, it) => set.has(get(it)) !== neg;
    }
    const set = new Set(value as number[]);
    const i = idx!;
    return (fv) => set.has(fv[i]!) !== neg;
  }
  if (!CMP.has(op)) fail(`${path}.op`, `unknown operator "${op}"`);
  if (isString) {
    if (op !== "==" && op !== "!=") fail(`${path}.op`, `string features compare with ==, !=, in, notIn`);
    if (typeof value !== "string") fail(`${path}.value`, "must be a string");
    const get = stringGetter(feature);
    return op === "==" ? (_fv, it) => get(it) === value : (_fv, it) => get(it) !== value;
  }
  if (typeof value !== "number" || !Number.isFinite(value)) fail(`${path}.value`, "must be a finite number");
  const i = idx!;
  switch (op) {
    case ">": return (fv) => fv[i]! > value;
    case ">=": return (fv) => fv[i]! >= value;
    case "<": return (fv) => fv[i]! < value;
    case "<=": return (fv) => fv[i]! <= value;
    case "==": return (fv) => fv[i]! === value;
    default: return (fv) => fv[i]! !== value;
  }
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(1) : v.toFixed(2);
}

function compileMessage(message: string, path: string): CompiledRule["render"] {
  const parts: Array<string | ((fv: Float64Array, it: RiskIntent) => string)> = [];
  const re = /\{([A-Za-z0-9.]+)\}/g;
  let last = 0;
  for (let m = re.exec(message); m; m = re.exec(message)) {
    parts.push(message.slice(last, m.index));
    const name = m[1]!;
    const idx = FEATURE_INDEX.get(name);
    if (idx !== undefined) parts.push((fv) => fmt(fv[idx]!));
    else if (STRING_SET.has(name)) {
      const get = stringGetter(name);
      parts.push((_fv, it) => get(it).slice(0, 64));
    } else fail(path, `unknown feature "{${name}}" in message`);
    last = m.index + m[0].length;
  }
  parts.push(message.slice(last));
  if (parts.length === 1) return () => message;
  return (fv, it) => parts.map((p) => (typeof p === "string" ? p : p(fv, it))).join("");
}

/** Validates a rule set (e.g. parsed JSON from an operator) and compiles it. Throws RISK_RULES_INVALID. */
export function compileRuleSet(input: unknown): CompiledRuleSet {
  if (!isObj(input)) fail("$", "a rule set must be an object { version, thresholds, rules }");
  checkKeys(input, ["version", "thresholds", "rules", "description"], "$");
  const { version, thresholds, rules } = input;
  if (typeof version !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(version)) {
    fail("$.version", "must be 1-64 letters, digits or . _ : -");
  }
  if (!isObj(thresholds)) fail("$.thresholds", "must be { review, decline }");
  checkKeys(thresholds, ["review", "decline"], "$.thresholds");
  const { review, decline } = thresholds;
  if (typeof review !== "number" || !Number.isFinite(review)) fail("$.thresholds.review", "must be a finite number");
  if (typeof decline !== "number" || !Number.isFinite(decline)) fail("$.thresholds.decline", "must be a finite number");
  if (!(review > 0) || !(decline >= review)) fail("$.thresholds", "need 0 < review ≤ decline");
  if (!Array.isArray(rules)) fail("$.rules", "must be an array");
  if (rules.length > RULE_LIMITS.maxRules) fail("$.rules", `at most ${RULE_LIMITS.maxRules} rules`);
  const ids = new Set<string>();
  const declineRules: CompiledRule[] = [], reviewRules: CompiledRule[] = [], scored: CompiledRule[] = [];
  rules.forEach((r: unknown, n: number) => {
    const path = `$.rules[${n}]`;
    if (!isObj(r)) fail(path, "must be an object");
    checkKeys(r, ["id", "kind", "when", "score", "code", "message", "enabled", "note"], path);
    const { id, kind, score, code, message, enabled } = r;
    if (typeof id !== "string" || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(id)) fail(`${path}.id`, "must be 1-64 of a-z 0-9 . _ -");
    if (ids.has(id)) fail(`${path}.id`, `duplicate rule id "${id}"`);
    ids.add(id);
    if (kind !== "decline" && kind !== "review" && kind !== "score") fail(`${path}.kind`, "must be decline, review or score");
    if (kind === "score" && score === undefined) fail(`${path}.score`, "a score rule needs a score");
    if (score !== undefined && (typeof score !== "number" || !Number.isFinite(score) || Math.abs(score) > 10_000)) {
      fail(`${path}.score`, "must be a finite number within ±10000");
    }
    if (typeof code !== "string" || !/^[A-Z][A-Z0-9_]{0,63}$/.test(code)) fail(`${path}.code`, "must be UPPER_SNAKE, up to 64 characters");
    if (typeof message !== "string" || message.length === 0 || message.length > RULE_LIMITS.maxMessageChars) {
      fail(`${path}.message`, `must be a sentence of 1-${RULE_LIMITS.maxMessageChars} characters`);
    }
    if (enabled !== undefined && typeof enabled !== "boolean") fail(`${path}.enabled`, "must be a boolean");
    if (r.note !== undefined && typeof r.note !== "string") fail(`${path}.note`, "must be a string");
    const test = compileCondition(r.when, `${path}.when`, { nodes: 0 }, 0);
    const render = compileMessage(message, `${path}.message`);
    if (enabled === false) return;
    const c: CompiledRule = { id, kind, score: (score as number | undefined) ?? 0, code, test, render };
    (kind === "decline" ? declineRules : kind === "review" ? reviewRules : scored).push(c);
  });
  // keep a private deep copy so later changes by the caller cannot alter the live set
  const source = JSON.parse(JSON.stringify(input)) as RuleSet;
  return { source, version, review, decline, hard: [...declineRules, ...reviewRules], scored };
}

/** Merchant categories where money is as good as cash: gift cards, money transfer, crypto, gambling. */
export const CASH_LIKE_CATEGORIES = ["4829", "6051", "6540", "7995", "5947", "6211", "5933"];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Just under the smaller of the per-payment cap and the approval threshold. */
const NEAR_LIMIT: Condition = { all: [{ feature: "intent.nearLimitRatio", op: ">=", value: 0.85 }, { feature: "intent.nearLimitRatio", op: "<=", value: 1 }] };
const NOT_NEAR_LIMIT: Condition = { not: NEAR_LIMIT };

/** Not one of a new agent's first payments in a new kind of category (cold-start-large judges those). */
const NOT_COLD_START_NEW_GROUP: Condition = { any: [{ feature: "agent.txCount", op: ">=", value: 3 }, { feature: "agent.groupNew", op: "==", value: 0 }] };

/**
 * A copy of `ruleSet` with the rules named in `ids` switched on (e.g. the default set's optional
 * `first-payment`). The copy's version names what was switched on, so every decision made under it
 * says so. Throws RISK_RULES_INVALID for an id the set does not have; the input is not changed.
 */
export function enableRules(ruleSet: RuleSet, ids: readonly string[]): RuleSet {
  if (!Array.isArray(ids) || ids.length === 0) fail("ids", "name at least one rule to enable");
  const copy = compileRuleSet(ruleSet).source;   // validated, and already a private deep copy
  const on: string[] = [];
  for (const id of ids) {
    const rule = typeof id === "string" ? copy.rules.find((r) => r.id === id) : undefined;
    if (rule === undefined) fail("ids", `no rule "${String(id)}" in ${copy.version}`);
    if (rule.enabled === false) {
      rule.enabled = true;
      on.push(id);
    }
  }
  if (on.length > 0) copy.version = `${copy.version}:${on.join(":")}`;
  compileRuleSet(copy);   // the version must still be valid (at most 64 characters)
  return copy;
}

/**
 * The default rule set: sensible product rules that work out of the box.
 * 2026.9 (tuned on simulator seeds 11-40 with the 30-day warm-up, allow-lists and combined decisions of
 * docs/RISK.md; checked once on 41-60): with weeks of history the loss left is single payments far from the
 * agent's usual. far-above-both asks at 4x the agent's usual and 4.5x everyone's (was 5x / 5x) and no longer
 * needs a new high (one old outlier is no usual); three rules ask the person: at-limit-new-high (right under
 * the limit, twice the agent's highest), at-limit-above-both (93%+ of the limit at 2.5x both usuals) and
 * far-below-both (far below the agent's and everyone's usual: probing).
 * 2026.8 (tuned on simulator seeds 11-40, checked on 41-60): 2026.6 had been tuned on seeds 11-20 and lost
 * 4-5 times as much on seeds it had never seen; rules that ask the person (adding no score) take back about
 * half of it: dormant-burst (a grant unused for days wakes up and the agent keeps paying in the one
 * category it has started in), sparse-burst (the same for an agent with a few old payments, in a category
 * that fits them badly), far-above-both and far-above-category-first (far above both the agent's usual and
 * everyone's) and near-limit-far-above (just under the limit and far above both usuals).
 * 2026.7: the same decisions as 2026.6, plus one optional rule, off by default: `first-payment` asks the
 * person about an agent's first payment, when the engine knows nothing of the agent to judge it by
 * (switch it on with `enableRules(defaultRuleSet, ["first-payment"])`; trade-off measured in its note).
 * 2026.6 (tuned on simulator seeds 11-20 only): adds single-purpose-branching-out (a young agent that has
 * kept to one kind of category pays in a different kind: ask the person), and lowers five score
 * rules that on those seeds were never needed to catch an attack but tipped legitimate payments into
 * review (several-new-categories, unproven-merchant, young-category, amount-high-wide-category,
 * daily-outflow), which pays for the new rule's reviews.
 */
export const defaultRuleSet: RuleSet = {
  version: "default-2026.9",
  thresholds: { review: 60, decline: 120 },
  rules: [
    // hard declines: unambiguous abuse
    { id: "attempt-flood", kind: "decline", code: "ATTEMPT_FLOOD",
      when: { feature: "agent.attempts1m", op: ">=", value: 10 },
      message: "The agent made {agent.attempts1m} payment attempts in the last minute" },
    { id: "decline-streak", kind: "decline", code: "REPEATED_DECLINES",
      when: { feature: "agent.declines1h", op: ">=", value: 8 },
      message: "{agent.declines1h} of the agent's attempts were declined in the last hour" },
    // hard reviews: a person should look
    // Optional (off by default). About half of the attack money the default rules miss in the simulator is paid
    // by an agent the engine has no payment of to compare with; this asks the person about such a first
    // payment, unless the grant is under a day old (the person has just set the agent up and expects it to pay).
    // An agent the engine has forgotten (beyond limits.maxAgents) counts as new here, as in dormant-burst.
    { id: "first-payment", kind: "review", score: 0, code: "FIRST_PAYMENT", enabled: false,
      when: { all: [{ feature: "agent.txCount", op: "==", value: 0 },
        { any: [{ feature: "grant.ageMs", op: "<", value: 0 }, { feature: "grant.ageMs", op: ">=", value: DAY }] }] },
      message: "The agent's first payment in this currency, under a grant a day old or more (or of unknown age): no history to judge it by",
      note: "On top of default-2026.8, held-out simulator seeds 41-60: attack money lost 1.64e-5 -> 8.0e-6 of all money asked for, legitimate reviews 0.97% -> 1.48%" },
    { id: "duplicate-payment", kind: "review", code: "DUPLICATE_PAYMENT",
      when: { feature: "agent.sameMerchantAmount10m", op: ">=", value: 1 },
      message: "The agent already paid this merchant the same amount {agent.sameMerchantAmount10m} time(s) in the last 10 minutes (possible runaway loop)" },
    { id: "cash-like-first-time", kind: "review", code: "CASH_LIKE_NEW_CATEGORY",
      when: { all: [{ feature: "intent.category", op: "in", value: CASH_LIKE_CATEGORIES }, { feature: "agent.categoryNew", op: "==", value: 1 }] },
      message: "First payment in cash-like category {intent.category} (gift cards, money transfer, crypto, gambling)" },
    { id: "merchant-surge", kind: "review", code: "NEW_MERCHANT_SURGE",
      when: { all: [{ feature: "merchant.attempts1h", op: ">=", value: 5 }, { any: [
        { feature: "merchant.ageMs", op: "<", value: 0 }, { feature: "merchant.agentCount", op: "<", value: 3 }] }] },
      message: "A merchant few agents have ever paid is receiving a burst of payments ({merchant.attempts1h} in the last hour)" },
    // scores: where the agent pays (within each family only one tier fires, so correlated signals do not stack)
    { id: "off-profile-category", kind: "score", score: 60, code: "OFF_PROFILE_CATEGORY",
      when: { all: [{ feature: "agent.categoryNew", op: "==", value: 1 }, { feature: "agent.categoryAffinity", op: ">=", value: 0 },
        { feature: "agent.categoryAffinity", op: "<=", value: 0.02 }] },
      message: "First payment in category {intent.category}, which agents that pay where this one does almost never use ({agent.categoryAffinity} of them)" },
    { id: "young-off-profile-category", kind: "score", score: 60, code: "OFF_PROFILE_CATEGORY_YOUNG",
      when: { all: [{ feature: "agent.categoryNew", op: "==", value: 0 }, { feature: "agent.categoryTxCount", op: "<", value: 3 },
        { feature: "agent.categoryAffinity", op: ">=", value: 0 }, { feature: "agent.categoryAffinity", op: "<=", value: 0.02 }] },
      message: "Only payment {agent.categoryTxCount} in category {intent.category}, which agents that pay where this one does almost never use" },
    { id: "new-group", kind: "score", score: 50, code: "NEW_CATEGORY_GROUP",
      when: { all: [{ feature: "agent.groupNew", op: "==", value: 1 }, { feature: "agent.txCount", op: ">=", value: 3 },
        { feature: "agent.groupCount", op: "<=", value: 2 }, { feature: "agent.categoryAffinity", op: "<=", value: 0.1 },
        { not: { all: [{ feature: "agent.categoryAffinity", op: ">=", value: 0 }, { feature: "agent.categoryAffinity", op: "<=", value: 0.02 }] } }] },
      message: "The agent has never paid in this kind of category before ({intent.category}); it has kept to {agent.groupCount} kind(s) so far" },
    { id: "new-group-fits", kind: "score", score: 30, code: "NEW_CATEGORY_GROUP_FITS",
      when: { all: [{ feature: "agent.groupNew", op: "==", value: 1 }, { feature: "agent.txCount", op: ">=", value: 3 },
        { feature: "agent.groupCount", op: "<=", value: 2 }, { feature: "agent.categoryAffinity", op: ">", value: 0.1 }] },
      message: "The agent has never paid in this kind of category before ({intent.category}), though agents like it often do" },
    { id: "new-group-fits-large", kind: "score", score: 20, code: "NEW_CATEGORY_GROUP_LARGE",
      when: { all: [{ feature: "agent.groupNew", op: "==", value: 1 }, { feature: "agent.txCount", op: ">=", value: 3 },
        { feature: "agent.groupCount", op: "<=", value: 2 }, { feature: "agent.categoryAffinity", op: ">", value: 0.1 },
        { feature: "amount.popRatio", op: ">=", value: 1 }] },
      message: "A first payment in a new kind of category ({intent.category}) that is not small: {amount.popRatio}x what agents usually pay there" },
    { id: "several-new-categories", kind: "score", score: 12, code: "SEVERAL_NEW_CATEGORIES",
      when: { all: [{ feature: "agent.categoryTxCount", op: "<", value: 3 }, { feature: "agent.newCategoryAttempts24h", op: ">=", value: 2 },
        { feature: "agent.ageMs", op: ">=", value: 24 * HOUR }, NOT_NEAR_LIMIT] },
      message: "An established agent tried {agent.newCategoryAttempts24h} categories it had never paid in within the last 24 hours; {intent.category} is one of few payments here" },
    // an agent with little history that branches out: a new kind of purchase, at a payee it has never paid,
    // in a category that agents paying where it does seldom use, hours after its last attempt (not one
    // booking session). Asks the person; adds no score, so it never turns an ordinary payment into a decline.
    { id: "little-history-new-directions", kind: "review", score: 0, code: "LITTLE_HISTORY_NEW_DIRECTIONS",
      when: { all: [{ feature: "grant.ageMs", op: ">=", value: 7 * DAY }, { feature: "agent.categoryTxCount", op: "<", value: 3 },
        { feature: "agent.merchantNew", op: "==", value: 1 }, { feature: "agent.attempts1h", op: "==", value: 0 },
        { feature: "agent.categoryAffinity", op: "<", value: 0.4 }, { any: [
          // few payments ever, and at least two other new categories tried within 24 hours
          { all: [{ feature: "agent.txCount", op: "<", value: 10 }, { feature: "agent.newCategoryAttempts24h", op: ">=", value: 2 }] },
          // a grant over a week old whose agent had not paid before today, and another new category today
          { all: [{ feature: "agent.txCount", op: "<=", ref: "agent.count24h" }, { feature: "agent.newCategoryAttempts24h", op: ">=", value: 1 }] }] }] },
      message: "An agent with only {agent.txCount} payments (a grant over a week old) has tried {agent.newCategoryAttempts24h} categories new to it in the last 24 hours; this one ({intent.category}) is at another new payee" },
    // a young agent that has so far kept to one kind of category (a single-purpose agent) pays in a different
    // kind: scope drift looks like this. Asks the person; adds no score. From 2 payments (one payment is no
    // purpose yet) to 9 (older agents are judged by new-group / focused-new-category).
    { id: "single-purpose-branching-out", kind: "review", score: 0, code: "SINGLE_PURPOSE_NEW_KIND",
      when: { all: [{ feature: "agent.txCount", op: ">=", value: 2 }, { feature: "agent.txCount", op: "<", value: 10 },
        { feature: "agent.groupCount", op: "==", value: 1 }, { feature: "agent.groupNew", op: "==", value: 1 }] },
      message: "The agent has made {agent.txCount} payments, all in one kind of category; this is its first in a different kind ({intent.category})" },
    { id: "new-category", kind: "score", score: 20, code: "NEW_CATEGORY",
      when: { all: [{ feature: "agent.categoryNew", op: "==", value: 1 }, { feature: "agent.groupNew", op: "==", value: 0 },
        { feature: "agent.txCount", op: ">=", value: 5 },
        { not: { all: [{ feature: "agent.categoryAffinity", op: ">=", value: 0 }, { feature: "agent.categoryAffinity", op: "<=", value: 0.02 }] } }] },
      message: "First payment in category {intent.category}, related to ones the agent uses" },
    { id: "focused-new-category", kind: "score", score: 15, code: "OFF_PURPOSE_CATEGORY",
      when: { all: [{ feature: "agent.categoryNew", op: "==", value: 1 }, { feature: "agent.txCount", op: ">=", value: 10 },
        { feature: "agent.categoryCount", op: "<=", value: 3 }] },
      message: "The agent has made {agent.txCount} payments in only {agent.categoryCount} categories; {intent.category} is outside its usual purpose" },
    { id: "new-merchant", kind: "score", score: 15, code: "NEW_MERCHANT",
      when: { all: [{ feature: "agent.merchantNew", op: "==", value: 1 }, { feature: "agent.txCount", op: ">=", value: 3 }] },
      message: "The agent has never paid this merchant before" },
    // A hard review adding no score: on a fresh install every merchant is unknown, and the
    // person should be asked, not have the agent's first ordinary payment declined.
    { id: "unknown-merchant", kind: "review", score: 0, code: "UNKNOWN_MERCHANT",
      when: { feature: "merchant.agentCount", op: "==", value: 0 },
      message: "No agent has ever paid this merchant (possible payee swap)" },
    { id: "unproven-merchant", kind: "score", score: 20, code: "UNPROVEN_MERCHANT",
      when: { all: [{ feature: "agent.merchantNew", op: "==", value: 1 }, { feature: "merchant.agentCount", op: ">=", value: 1 },
        { feature: "merchant.agentCount", op: "<", value: 3 }] },
      message: "New payee that only {merchant.agentCount} other agent(s) have ever paid" },
    { id: "cash-like", kind: "score", score: 20, code: "CASH_LIKE_CATEGORY",
      when: { feature: "intent.category", op: "in", value: CASH_LIKE_CATEGORIES },
      message: "Payment in cash-like category {intent.category}" },
    { id: "young-category", kind: "score", score: 15, code: "RECENTLY_STARTED_CATEGORY",
      when: { all: [{ feature: "agent.categoryAgeMs", op: ">=", value: 0 }, { feature: "agent.categoryAgeMs", op: "<", value: 24 * HOUR },
        { feature: "agent.categoryTxCount", op: "<", value: 3 }, { feature: "agent.txCount", op: ">=", value: 10 }] },
      message: "The agent only started paying in category {intent.category} in the last day, after {agent.txCount} payments elsewhere" },
    // A grant that went unused for days wakes up: the agent made its first payment under 12 hours ago and pays
    // again in the one category it has paid in, at another merchant or the same. A taken-over dormant agent
    // looks like this; a person's newly used agent mostly pays once, or in a session of different kinds.
    { id: "dormant-burst", kind: "review", score: 0, code: "DORMANT_GRANT_BURST",
      when: { all: [{ feature: "agent.txCount", op: ">=", value: 1 }, { feature: "agent.txCount", op: "<=", value: 4 },
        { feature: "agent.ageMs", op: "<", value: 12 * HOUR }, { feature: "grant.ageMs", op: ">=", value: 3 * DAY },
        { feature: "agent.categoryNew", op: "==", value: 0 }, { feature: "agent.categoryCount", op: "==", value: 1 }] },
      message: "The agent's grant went unused for days; it began paying under 12 hours ago and, after {agent.txCount} payment(s) in category {intent.category}, pays there again" },
    // The same with a little history: an agent whose first payment is over a day old, with few payments, began
    // paying under 12 hours ago in a category that fits its others badly (or that nothing shows to fit: no
    // other category of its has 30 payers), and pays there again at a new merchant.
    { id: "sparse-burst", kind: "review", score: 0, code: "SPARSE_AGENT_NEW_CATEGORY_BURST",
      when: { all: [{ feature: "agent.txCount", op: ">=", value: 1 }, { feature: "agent.txCount", op: "<=", value: 5 },
        { feature: "agent.ageMs", op: ">=", value: DAY }, { feature: "grant.ageMs", op: ">=", value: 3 * DAY },
        { feature: "agent.categoryTxCount", op: ">=", value: 1 }, { feature: "agent.categoryAgeMs", op: ">=", value: 0 },
        { feature: "agent.categoryAgeMs", op: "<", value: 12 * HOUR }, { feature: "agent.categoryAffinity", op: "<", value: 0.3 },
        { feature: "agent.merchantNew", op: "==", value: 1 }] },
      message: "An agent with only {agent.txCount} payments began paying in category {intent.category} under 12 hours ago, and pays there again at a new merchant; agents that pay where it paid before seldom pay there" },
    // after a decline (a person denied a payment, or the engine refused one): the same direction again
    { id: "recently-declined-here", kind: "review", score: 45, code: "RECENTLY_DECLINED_HERE",
      when: { any: [
        { all: [{ feature: "agent.categoryDeclines24h", op: ">=", value: 1 }, { any: [
          { feature: "agent.merchantNew", op: "==", value: 1 }, { feature: "amount.priorRatio", op: ">=", value: 2 }] }] },
        { all: [{ feature: "agent.groupDeclines24h", op: ">=", value: 1 }, { feature: "agent.categoryNew", op: "==", value: 1 }] }] },
      message: "A payment of the agent in this kind of category was declined in the last 24 hours ({agent.groupDeclines24h} time(s)); this one is to a new payee or unusually large" },
    // amount against priors: the agent's own history in the category shrunk toward what all agents pay there
    { id: "amount-high", kind: "score", score: 30, code: "AMOUNT_ABOVE_USUAL",
      when: { all: [{ feature: "amount.priorZ", op: ">=", value: 3 }, { feature: "amount.priorZ", op: "<", value: 4 }, NOT_NEAR_LIMIT] },
      message: "Amount is {amount.priorRatio}x the usual for this agent in this category ({amount.priorZ} standard deviations above)" },
    { id: "amount-spike", kind: "score", score: 60, code: "AMOUNT_SPIKE",
      when: { feature: "amount.priorZ", op: ">=", value: 4 },
      message: "Amount is far outside what this agent, and agents in general, pay in this category ({amount.priorRatio}x usual, {amount.priorZ} standard deviations)" },
    // far above what this agent pays here AND what everyone pays here: asks the person whatever the spread of the
    // category's amounts (since 2026.9 at 4x / 4.5x rather than 5x / 5x, and also when the agent once paid as
    // much: one old outlier is no usual)
    { id: "far-above-both", kind: "review", score: 0, code: "FAR_ABOVE_AGENT_AND_CATEGORY",
      when: { all: [{ feature: "agent.categoryTxCount", op: ">=", value: 1 }, { feature: "amount.priorRatio", op: ">=", value: 4 },
        { feature: "amount.popRatio", op: ">=", value: 4.5 }] },
      message: "Amount is {amount.priorRatio}x this agent's usual in category {intent.category} and {amount.popRatio}x what agents usually pay there" },
    // right up against the person's limit and well above anything this agent has paid here: the limit, not the
    // agent's needs, sets the amount
    { id: "at-limit-new-high", kind: "review", score: 0, code: "AT_LIMIT_FAR_ABOVE_HIGHEST",
      when: { all: [{ feature: "intent.nearLimitRatio", op: ">=", value: 0.9 }, { feature: "intent.nearLimitRatio", op: "<=", value: 1 },
        { feature: "agent.maxRatio", op: ">=", value: 2 }] },
      message: "Just under the sub-wallet's limit ({intent.nearLimitRatio} of it) and {agent.maxRatio}x the largest payment this agent has made here" },
    // pressed against the limit (93% of it or more) at several times both the agent's usual and everyone's: the
    // amount is set by the limit, not by what is bought (structuring, where the category's amounts vary too
    // widely for a z-score to say so)
    { id: "at-limit-above-both", kind: "review", score: 0, code: "AT_LIMIT_ABOVE_AGENT_AND_CATEGORY",
      when: { all: [{ feature: "intent.nearLimitRatio", op: ">=", value: 0.93 }, { feature: "intent.nearLimitRatio", op: "<=", value: 1 },
        { feature: "amount.priorRatio", op: ">=", value: 2.5 }, { feature: "amount.popRatio", op: ">=", value: 2.5 }] },
      message: "Just under the sub-wallet's limit ({intent.nearLimitRatio} of it) at {amount.priorRatio}x this agent's usual in category {intent.category} and {amount.popRatio}x what agents usually pay there" },
    // far below what this agent AND everyone pays here: probing payments (card testing) look like this
    { id: "far-below-both", kind: "review", score: 0, code: "FAR_BELOW_AGENT_AND_CATEGORY",
      when: { all: [{ feature: "amount.priorZ", op: "<=", value: -3 }, { feature: "amount.popRatio", op: "<=", value: 0.25 }] },
      message: "Amount is {amount.priorRatio}x the usual for this agent in category {intent.category} and {amount.popRatio}x what agents usually pay there (probing payments look like this)" },
    // the same for the agent's first payment in a category, where its own usual is everyone's
    { id: "far-above-category-first", kind: "review", score: 0, code: "FIRST_IN_CATEGORY_FAR_ABOVE_USUAL",
      when: { all: [{ feature: "agent.categoryTxCount", op: "==", value: 0 }, { feature: "amount.popRatio", op: ">=", value: 5 },
        { feature: "amount.priorRatio", op: ">=", value: 5 }] },
      message: "The agent's first payment in category {intent.category}, at {amount.popRatio}x what agents usually pay there" },
    { id: "amount-high-thin-history", kind: "score", score: 30, code: "AMOUNT_ABOVE_USUAL_LITTLE_HISTORY",
      when: { all: [{ feature: "amount.priorZ", op: ">=", value: 2.5 }, { feature: "amount.priorZ", op: "<", value: 4 },
        { feature: "agent.categoryTxCount", op: "<", value: 3 }, { feature: "amount.priorRatio", op: ">=", value: 4 }, NOT_NEAR_LIMIT] },
      message: "Amount is {amount.priorRatio}x what agents usually pay in this category, and this agent has little history here to say otherwise" },
    { id: "cold-start-large", kind: "score", score: 60, code: "LARGE_FROM_NEW_AGENT",
      when: { all: [{ feature: "agent.txCount", op: "<", value: 3 }, { feature: "agent.groupNew", op: "==", value: 1 },
        { any: [{ feature: "amount.popRatio", op: ">=", value: 3 }, { feature: "intent.nearLimitRatio", op: ">=", value: 0.6 }] },
        { feature: "amount.priorZ", op: "<", value: 4 }] },
      message: "One of a new agent's first payments, in a new kind of category, and large: {amount.popRatio}x what agents usually pay there, {intent.nearLimitRatio} of the sub-wallet's limit" },
    // agents that buy at fixed price points (subscriptions, credit top-ups) repeat their amounts
    { id: "new-price-under-limit", kind: "review", score: 0, code: "NEW_PRICE_UNDER_LIMIT",
      when: { all: [{ feature: "agent.repeatShare", op: ">=", value: 0.8 }, { feature: "agent.amountRepeats", op: "==", value: 0 },
        { feature: "intent.nearLimitRatio", op: ">=", value: 0.85 }, { feature: "intent.nearLimitRatio", op: "<=", value: 1 }] },
      message: "The agent pays the same few amounts ({agent.repeatShare} of its payments repeat one), but this one is new and just under the sub-wallet's limit ({intent.nearLimitRatio} of it)" },
    // just under the limit, where a z-score is blunted by a category whose amounts vary widely: the ratios speak
    { id: "near-limit-far-above", kind: "review", score: 0, code: "JUST_UNDER_LIMIT_FAR_ABOVE_USUAL",
      when: { all: [NEAR_LIMIT, { feature: "amount.priorRatio", op: ">=", value: 4 }, { feature: "amount.popRatio", op: ">=", value: 4 }] },
      message: "Just under the sub-wallet's limit ({intent.nearLimitRatio} of it) and far above the usual in category {intent.category}: {amount.priorRatio}x this agent's (its history blended with everyone's), {amount.popRatio}x everyone's" },
    { id: "near-limit", kind: "score", score: 20, code: "JUST_UNDER_LIMIT",
      when: { all: [{ feature: "intent.nearLimitRatio", op: ">=", value: 0.85 }, { feature: "intent.nearLimitRatio", op: "<=", value: 1 }] },
      message: "Amount is just under the sub-wallet's limit ({intent.nearLimitRatio} of it)" },
    { id: "structuring", kind: "score", score: 40, code: "UNUSUAL_AMOUNT_UNDER_LIMIT",
      when: { all: [{ feature: "intent.nearLimitRatio", op: ">=", value: 0.85 }, { feature: "intent.nearLimitRatio", op: "<=", value: 1 },
        { feature: "amount.priorZ", op: ">=", value: 2 }, { feature: "amount.priorRatio", op: ">=", value: 2.5 },
        { feature: "amount.priorZ", op: "<", value: 4 }] },
      message: "Unusually large for this agent ({amount.priorRatio}x usual) and just under the sub-wallet's limit ({intent.nearLimitRatio} of it): looks like avoiding approval" },
    // amounts just under the limit that are a new high for the agent, or large for an agent with little history
    { id: "new-high-under-limit", kind: "score", score: 40, code: "NEW_HIGH_UNDER_LIMIT",
      when: { all: [{ feature: "intent.nearLimitRatio", op: ">=", value: 0.85 }, { feature: "intent.nearLimitRatio", op: "<=", value: 1 },
        { feature: "agent.maxRatio", op: ">", value: 1 }, { feature: "agent.maxRatio", op: "<", value: 3 }, { feature: "amount.priorRatio", op: ">=", value: 1.5 },
        { feature: "amount.priorZ", op: "<", value: 2 }] },
      message: "Just under the sub-wallet's limit ({intent.nearLimitRatio} of it) and {agent.maxRatio}x the largest payment this agent has made here" },
    { id: "young-large-under-limit", kind: "score", score: 40, code: "LARGE_UNDER_LIMIT_LITTLE_HISTORY",
      when: { all: [{ feature: "intent.nearLimitRatio", op: ">=", value: 0.85 }, { feature: "intent.nearLimitRatio", op: "<=", value: 1 },
        { feature: "agent.txCount", op: "<", value: 5 }, { feature: "amount.priorRatio", op: ">=", value: 2 }, NOT_COLD_START_NEW_GROUP,
        { feature: "amount.popRatio", op: ">=", value: 2.5 }, { feature: "amount.priorZ", op: "<", value: 2 }] },
      message: "Just under the sub-wallet's limit ({intent.nearLimitRatio} of it), {amount.popRatio}x what agents usually pay in this category, from an agent with only {agent.txCount} payments" },
    // in categories where amounts vary widely a z-score understates a spike: look at the ratio too
    { id: "amount-high-wide-category", kind: "score", score: 15, code: "AMOUNT_ABOVE_USUAL_WIDE_CATEGORY",
      when: { all: [{ feature: "amount.priorRatio", op: ">=", value: 4 }, { feature: "amount.priorZ", op: ">=", value: 2 },
        { feature: "amount.priorZ", op: "<", value: 3 }, { feature: "category.amountSpread", op: ">=", value: 0.7 }, NOT_NEAR_LIMIT,
        NOT_COLD_START_NEW_GROUP, { any: [{ feature: "agent.categoryTxCount", op: ">=", value: 3 }, { feature: "amount.priorZ", op: "<", value: 2.5 }] }] },
      message: "Amount is {amount.priorRatio}x the usual for this agent in category {intent.category}, where amounts vary widely" },
    // large against the category and the agent, and it makes the agent's day: ask (adds no score)
    { id: "large-day", kind: "review", score: 0, code: "LARGE_AMOUNT_LARGE_DAY",
      when: { all: [{ feature: "amount.popRatio", op: ">=", value: 5 }, { feature: "amount.priorRatio", op: ">=", value: 3.5 },
        { feature: "agent.dailyRatio", op: ">=", value: 4 }] },
      message: "Amount is {amount.popRatio}x what agents usually pay in category {intent.category} and {amount.priorRatio}x this agent's usual there; its last 24 hours reach {agent.dailyRatio}x a typical day" },
    { id: "amount-tiny", kind: "score", score: 25, code: "AMOUNT_FAR_BELOW_USUAL",
      when: { all: [{ feature: "amount.priorZ", op: "<=", value: -3 }, { feature: "agent.categoryTxCount", op: ">=", value: 5 }] },
      message: "Amount is a tiny fraction ({amount.priorRatio}x) of the agent's usual in this category (card testing looks like this)" },
    // velocity
    { id: "velocity-1m", kind: "score", score: 45, code: "VELOCITY_MINUTE",
      when: { feature: "agent.attempts1m", op: ">=", value: 3 },
      message: "{agent.attempts1m} attempts by this agent in the last minute" },
    { id: "velocity-1h", kind: "score", score: 30, code: "VELOCITY_HOUR",
      when: { feature: "agent.attempts1h", op: ">=", value: 15 },
      message: "{agent.attempts1h} attempts by this agent in the last hour" },
    { id: "subwallet-velocity-1h", kind: "score", score: 30, code: "SUBWALLET_VELOCITY_HOUR",
      when: { feature: "subWallet.count1h", op: ">=", value: 20 },
      message: "{subWallet.count1h} payments from this sub-wallet in the last hour" },
    { id: "same-merchant-burst", kind: "score", score: 35, code: "SAME_MERCHANT_BURST",
      when: { feature: "agent.sameMerchant10m", op: ">=", value: 3 },
      message: "{agent.sameMerchant10m} payments to this merchant in the last 10 minutes" },
    { id: "daily-outflow", kind: "score", score: 12, code: "DAILY_OUTFLOW_HIGH",
      when: { all: [{ feature: "agent.dailyRatio", op: ">=", value: 8 }, { feature: "agent.txCount", op: ">=", value: 8 }] },
      message: "With this payment the agent's last 24 hours reach {agent.dailyRatio}x its typical daily outflow" },
    { id: "failures", kind: "score", score: 30, code: "RECENT_FAILURES",
      when: { feature: "agent.failures1h", op: ">=", value: 3 },
      message: "{agent.failures1h} of the agent's attempts failed in the last hour" },
    { id: "declines", kind: "score", score: 30, code: "RECENT_DECLINES",
      when: { feature: "agent.declines1h", op: ">=", value: 2 },
      message: "{agent.declines1h} of the agent's attempts were declined in the last hour" },
    { id: "fresh-grant-large", kind: "score", score: 30, code: "FRESH_GRANT_LARGE",
      when: { all: [{ feature: "grant.ageMs", op: ">=", value: 0 }, { feature: "grant.ageMs", op: "<", value: HOUR },
        { feature: "intent.nearLimitRatio", op: ">=", value: 0.5 }] },
      message: "A large payment within the first hour of the grant" },
    { id: "unusual-hour", kind: "score", score: 15, code: "UNUSUAL_HOUR",
      when: { all: [{ feature: "agent.hourShare", op: "<", value: 0.01 }, { feature: "agent.txCount", op: ">=", value: 30 }] },
      message: "The agent almost never pays at this time of day" },
  ],
};
