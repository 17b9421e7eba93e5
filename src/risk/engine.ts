import { AgentPayError } from "../core/index.ts";
import type { CurrencyRegistry } from "../core/index.ts";
import { Breaker, type BreakerOptions, type BreakerStatus } from "./breaker.ts";
import { FEATURE, FEATURE_COUNT, FeatureStore, type FeatureLimits } from "./features.ts";
import { compileRuleSet, defaultRuleSet, type CompiledRuleSet, type RuleSet } from "./rules.ts";
import { exportEngineState, importEngineState, type RiskState } from "./state.ts";
import type { RiskDecision, RiskEvent, RiskIntent, RiskOutcome, RiskReason } from "./types.ts";

export interface RiskEngineOptions {
  /** Decimals of each currency, so amounts are compared on one scale (default: 2 for every currency). */
  currencies?: CurrencyRegistry;
  /** The rule set to start with (validated); defaults to `defaultRuleSet`. */
  rules?: RuleSet | unknown;
  breaker?: Partial<BreakerOptions>;
  /** Memory bounds: how many agents, sub-wallets and merchants are remembered. */
  limits?: Partial<FeatureLimits>;
}

const EVENT_KINDS = new Set(["authorized", "captured", "declined", "failed", "refunded", "voided", "reviewed"]);

function bad(message: string, field: string): never {
  throw new AgentPayError("INVALID_INPUT", message, { field });
}

function checkIntent(i: RiskIntent): number {
  if (i === null || typeof i !== "object") bad("risk intent must be an object", "intent");
  for (const f of ["agentId", "subWalletId", "ownerId", "merchantId", "category", "currency"] as const) {
    const v = i[f];
    if (typeof v !== "string" || v.length === 0 || v.length > 256) bad(`${f} must be a non-empty string`, f);
  }
  if (typeof i.amountMinor !== "bigint" || i.amountMinor < 0n) bad("amountMinor must be a non-negative bigint", "amountMinor");
  if (typeof i.atMs !== "number" || !Number.isFinite(i.atMs) || i.atMs < 0) bad("atMs must be a time in ms since the epoch", "atMs");
  if (i.grantCreatedAtMs !== undefined && (typeof i.grantCreatedAtMs !== "number" || !Number.isFinite(i.grantCreatedAtMs))) {
    bad("grantCreatedAtMs must be a time in ms", "grantCreatedAtMs");
  }
  for (const f of ["perPaymentLimitMinor", "approvalThresholdMinor"] as const) {
    const v = i[f];
    if (v !== undefined && (typeof v !== "bigint" || v < 0n)) bad(`${f} must be a non-negative bigint`, f);
  }
  // Scores are statistics: float64 is exact to 2^53 minor units, and saturating beyond is harmless.
  return Number(i.amountMinor);
}

/**
 * Amounts are scored on one scale, the minor units of a 2-decimal currency, so thresholds
 * written in "cents" mean the same for JPY (0 decimals) or a 6-decimal stablecoin.
 */
function scaleOf(registry: CurrencyRegistry | undefined, currency: string): number {
  const exp = registry?.has(currency) ? registry.exponent(currency) : 2;
  return 10 ** (2 - exp);
}

/**
 * The real-time risk engine. `score` reads features and rules and returns an explainable decision;
 * `record` folds what actually happened into the features. Everything runs in-process and in
 * constant time per call; time is the intent's / event's `atMs`, never the wall clock.
 */
export class RiskEngine {
  #rules: CompiledRuleSet;
  #store: FeatureStore;
  #breaker: Breaker;
  readonly #fv = new Float64Array(FEATURE_COUNT);
  readonly #limits: Partial<FeatureLimits>;
  readonly #breakerOpts: Partial<BreakerOptions>;

  readonly #currencies: CurrencyRegistry | undefined;

  constructor(opts: RiskEngineOptions = {}) {
    this.#currencies = opts.currencies;
    this.#rules = compileRuleSet(opts.rules ?? defaultRuleSet);
    this.#limits = { ...opts.limits };
    this.#breakerOpts = { ...opts.breaker };
    this.#store = new FeatureStore(this.#limits);
    this.#breaker = new Breaker(this.#breakerOpts);
    const action = this.#breaker.opts.action;
    if (action !== "review" && action !== "decline") {
      throw new AgentPayError("INVALID_INPUT", "breaker.action must be review or decline", { field: "breaker.action" });
    }
  }

  /** Scores an intent. Pure with respect to the engine's state: nothing is updated. */
  score(intent: RiskIntent): RiskDecision {
    const raw = checkIntent(intent);
    const scale = scaleOf(this.#currencies, intent.currency);
    const amt = raw * scale;
    const fv = this.#fv;
    this.#store.compute(intent, amt, fv, scale);
    const bc = this.#breaker.check(intent, amt);
    fv[FEATURE["owner.amount1h"]] = bc.ownerAmount1h;
    fv[FEATURE["owner.outflowRatio"]] = bc.ownerRatio;
    fv[FEATURE["global.outflowRatio"]] = bc.globalRatio;

    const rs = this.#rules;
    const reasons: RiskReason[] = [];
    let hard: RiskOutcome = "allow";
    let score = 0;
    if (bc.code !== "") {
      hard = this.#breaker.opts.action;
      reasons.push({ code: bc.code, message: bc.message, score: 0, ruleId: "drain-breaker" });
    }
    for (const r of rs.hard) {
      if (!r.test(fv, intent)) continue;
      if (r.kind === "decline") hard = "decline";
      else if (hard === "allow") hard = "review";
      score += r.score;
      reasons.push({ code: r.code, message: r.render(fv, intent), score: r.score, ruleId: r.id });
    }
    for (const r of rs.scored) {
      if (!r.test(fv, intent)) continue;
      score += r.score;
      reasons.push({ code: r.code, message: r.render(fv, intent), score: r.score, ruleId: r.id });
    }
    let outcome: RiskOutcome = score >= rs.decline ? "decline" : score >= rs.review ? "review" : "allow";
    if (hard === "decline" || (hard === "review" && outcome === "allow")) outcome = hard;
    return { outcome, score, reasons, ruleSetVersion: rs.version };
  }

  /** Folds a payment's outcome into the features. Events must arrive in time order. */
  record(event: RiskEvent): void {
    const raw = checkIntent(event);
    const amt = raw * scaleOf(this.#currencies, event.currency);
    if (!EVENT_KINDS.has(event.kind)) bad("kind must be authorized, captured, declined, failed, refunded, voided or reviewed", "kind");
    if (event.countsAsAttempt !== undefined && typeof event.countsAsAttempt !== "boolean") bad("countsAsAttempt must be a boolean", "countsAsAttempt");
    this.#store.record(event, amt);
    this.#breaker.record(event, amt);
  }

  /** Replaces the rule set at run time. A bad set throws RISK_RULES_INVALID and the old set stays. */
  loadRules(ruleSet: unknown): void {
    this.#rules = compileRuleSet(ruleSet);
  }

  /** A copy of the live rule set. */
  get rules(): RuleSet {
    return JSON.parse(JSON.stringify(this.#rules.source)) as RuleSet;
  }

  breakerStatus(): BreakerStatus {
    return this.#breaker.status();
  }

  /** Closes the drain breaker: all trips, or one person's with `ownerId`. */
  resetBreaker(ownerId?: string): void {
    if (ownerId !== undefined && typeof ownerId !== "string") bad("ownerId must be a string", "ownerId");
    this.#breaker.reset(ownerId);
  }

  /** Memory use in entries, for monitoring the bounds. */
  stats(): { agents: number; subWallets: number; merchants: number; owners: number; evictions: number } {
    const s = this.#store;
    return {
      agents: s.agents.size, subWallets: s.subWallets.size, merchants: s.merchants.size,
      owners: this.#breaker.owners.size,
      evictions: s.agents.evictions + s.subWallets.evictions + s.merchants.evictions + this.#breaker.owners.evictions,
    };
  }

  /** Everything the engine has learnt plus the live rule set, as plain JSON (no bigints). */
  exportState(): RiskState {
    return exportEngineState(this.#store, this.#breaker, this.#rules.source);
  }

  /** Restores an exported state. A malformed state throws RISK_STATE_INVALID and nothing changes. */
  importState(state: unknown): void {
    const { store, breaker, rules } = importEngineState(state, this.#limits, this.#breakerOpts);
    const compiled = rules === undefined ? this.#rules : compileRuleSet(rules);
    this.#store = store;
    this.#breaker = breaker;
    this.#rules = compiled;
  }
}
