import { AgentPayError } from "../core/index.ts";
import type { CurrencyRegistry } from "../core/index.ts";
import type { Engine } from "../engine/index.ts";
import { Breaker, type BreakerOptions, type BreakerStatus } from "./breaker.ts";
import { FEATURE, FEATURE_COUNT, FeatureStore, type FeatureLimits } from "./features.ts";
import { compileRuleSet, defaultRuleSet, type CompiledRuleSet, type RuleSet } from "./rules.ts";
import { RISK_OP_PREFIX, nextRiskSeqIn, riskOpKey, type RiskOpRecord } from "./journal.ts";
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
  /** The state engine operator actions are made durable in, once attached. */
  #engine: Engine | undefined;
  /** While the store loads: operator actions waiting for their place among the replayed events. */
  #loadedOps: RiskOpRecord[] | undefined;

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
    return { outcome, score, reasons, ruleSetVersion: rs.version, hard: hard !== "allow" && outcome === hard };
  }

  /**
   * Folds a payment's outcome into the features. Events must arrive in the order they happened (time
   * order, or `seq` order when they carry one).
   */
  record(event: RiskEvent): void {
    const raw = checkIntent(event);
    const amt = raw * scaleOf(this.#currencies, event.currency);
    if (!EVENT_KINDS.has(event.kind)) bad("kind must be authorized, captured, declined, failed, refunded, voided or reviewed", "kind");
    if (event.countsAsAttempt !== undefined && typeof event.countsAsAttempt !== "boolean") bad("countsAsAttempt must be a boolean", "countsAsAttempt");
    if (event.seq !== undefined && (!Number.isSafeInteger(event.seq) || event.seq < 1)) bad("seq must be a positive integer", "seq");
    // Replaying: the operator's resets that came before this event come first.
    if (this.#loadedOps !== undefined && event.seq !== undefined) this.#applyLoadedOps(event.seq);
    this.#store.record(event, amt);
    this.#breaker.record(event, amt);
  }

  /**
   * Makes the engine's operator actions (breaker resets) durable in `engine`'s store, in the durable
   * order of payment changes, so a reopened process that replays both rebuilds the same state. Call
   * before the store loads; then replay the payment events (with their `seq`) and call finishLoad().
   * The payment flow does this for the engine AgentPay.open builds.
   */
  attach(engine: Engine): void {
    if (this.#engine !== undefined) throw new AgentPayError("INVALID_INPUT", "the risk engine is already attached to a state engine");
    this.#engine = engine;
    this.#loadedOps = [];
    engine.observe(RISK_OP_PREFIX, (_k, before, after) => {
      const op = after as RiskOpRecord | undefined;
      if (op === undefined || before !== undefined) return;
      if (this.#loadedOps !== undefined) this.#loadedOps.push(op);
      else this.#applyOp(op);
    });
  }

  /** The replay is over: resets recorded after the last replayed event take effect. */
  finishLoad(): void {
    if (this.#loadedOps === undefined) return;
    this.#applyLoadedOps(Infinity);
    this.#loadedOps = undefined;
  }

  #applyLoadedOps(beforeSeq: number): void {
    const ops = this.#loadedOps!;
    if (ops.length === 0) return;
    ops.sort((a, b) => a.seq - b.seq);
    let i = 0;
    while (i < ops.length && ops[i]!.seq < beforeSeq) this.#applyOp(ops[i++]!);
    ops.splice(0, i);
  }

  #applyOp(op: RiskOpRecord): void {
    if (op.kind === "breaker-reset") this.#breaker.reset(op.ownerId);
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

  /**
   * Closes the drain breaker: all trips, or one person's with `ownerId`. Attached to a state engine (as
   * in AgentPay), the reset is recorded durably in the order of payment changes and resolves once it
   * is on disk; a reopen replays it in its place. Standalone, it takes effect before this returns.
   */
  resetBreaker(ownerId?: string): Promise<void> {
    if (ownerId !== undefined && (typeof ownerId !== "string" || ownerId.length === 0 || ownerId.length > 256)) {
      return Promise.reject(new AgentPayError("INVALID_INPUT", "ownerId must be a non-empty string", { field: "ownerId" }));
    }
    const engine = this.#engine;
    if (engine === undefined) {
      this.#breaker.reset(ownerId);
      return Promise.resolve();
    }
    // The observer applies it as the command commits to memory, at its place in the order.
    return engine.submit((tx) => {
      const seq = nextRiskSeqIn(tx);
      const op: RiskOpRecord = { seq, atMs: tx.nowMs, kind: "breaker-reset", ...(ownerId !== undefined ? { ownerId } : {}) };
      tx.put(riskOpKey(seq), op);
    });
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
