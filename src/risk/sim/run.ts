import { combineVerdicts } from "../combine.ts";
import type { RiskEngine } from "../engine.ts";
import type { RiskDecision, RiskEventKind, RiskOutcome } from "../types.ts";
import { ATTACK_KINDS, type SimLabel, type SimPayment } from "./simulate.ts";

export interface LabelStats {
  payments: number;
  /** Not allowed through: declined, or sent to the person (by the policy or the risk engine). */
  caught: number;
  /** Sent to the person where their policy alone would not have asked them (the risk engine asked). */
  reviewed: number;
  /** Sent to the person where their policy asks anyway (above their approval threshold). */
  policyReviewed: number;
  declined: number;
  /** Stopped by the sub-wallet's policy (declined by it, or sent by it to the person), whatever the risk engine said. */
  stoppedByPolicy: number;
  /** Payments whose money moved (committed and not failed). */
  moved: number;
  valueMinor: number;
  valueLostMinor: number;
  incidents: Set<number>;
  incidentsMissedAny: Set<number>;
}

export interface RunStats {
  byLabel: Map<SimLabel, LabelStats>;
  /** Per-payment time of score + record, in microseconds (all payments, warmup included). */
  latenciesUs: Float64Array;
  /** Payments whose money moved in the measured period, of any label. */
  movedPayments: number;
  decisions: number;
  elapsedMs: number;
  breakerTrips: Array<{ atMs: number; scope: string; key: string }>;
  /** Legitimate payments reviewed or declined because the breaker was open. */
  legitHeldByBreaker: number;
  reasonCounts: Map<string, { legit: number; attack: number }>;
  /**
   * Attack money that moved, by how many committed payments the victim agent had made when its incident
   * first reached it: none (nothing to compare the attack with), 1-4, or 5 and more.
   */
  lostByHistoryMinor: { none: number; few: number; established: number };
}

/** An agent with fewer committed payments than this, when an incident begins, has "few". */
const ESTABLISHED_PAYMENTS = 5;

export interface RunOptions {
  /** Payments before this time train the engine but are not counted. */
  measureFromMs: number;
  /** How long after a trip the operator resets the breaker (after revoking what was compromised). */
  operatorResetDelayMs?: number;
  /** Called with the risk engine's decision and the payment's combined outcome (policy and risk). */
  onDecision?: (p: SimPayment, d: RiskDecision, outcome: RiskOutcome) => void;
}

function emptyStats(): LabelStats {
  return {
    payments: 0, caught: 0, reviewed: 0, policyReviewed: 0, declined: 0, stoppedByPolicy: 0, moved: 0, valueMinor: 0, valueLostMinor: 0,
    incidents: new Set(), incidentsMissedAny: new Set(),
  };
}

/**
 * The person's policy for the payment, as the wallets' policy evaluates it: a category outside their
 * allow-list or an amount above the per-payment cap is declined; above the approval threshold the
 * person is asked.
 */
export function policyVerdict(p: SimPayment): RiskOutcome {
  const it = p.intent;
  if (p.allowedCategories !== undefined && !p.allowedCategories.has(it.category)) return "decline";
  if (it.perPaymentLimitMinor !== undefined && it.amountMinor > it.perPaymentLimitMinor) return "decline";
  if (it.approvalThresholdMinor !== undefined && it.amountMinor > it.approvalThresholdMinor) return "review";
  return "allow";
}

/**
 * Drives payments through policy + score → combined outcome (combineVerdicts, as the payment flow
 * decides) → (person decides on reviews) → record, in time order.
 * Model of the person: a legitimate payment sent to review is approved; an attack is denied.
 * An attack payment is caught when it is declined or reviewed before its money moves.
 */
export function runSimulation(engine: RiskEngine, payments: readonly SimPayment[], opts: RunOptions): RunStats {
  const byLabel = new Map<SimLabel, LabelStats>([["legit", emptyStats()], ...ATTACK_KINDS.map((k) => [k, emptyStats()] as const)]);
  const lat = new Float64Array(payments.length);
  const resetDelay = opts.operatorResetDelayMs ?? 20 * 60_000;
  const trips: RunStats["breakerTrips"] = [];
  const reasonCounts = new Map<string, { legit: number; attack: number }>();
  let openSince = -1;
  let legitHeld = 0;
  const committed = new Map<string, number>();       // agent → committed payments seen by the runner
  // attack incident and agent (a mass compromise hits many agents at once) → the agent's committed payments then
  const historyAtStart = new Map<string, number>();
  const lostByHistory = { none: 0, few: 0, established: 0 };
  let moved = 0;
  const t0 = performance.now();
  for (let i = 0; i < payments.length; i++) {
    const p = payments[i]!;
    const it = p.intent;
    const s = performance.now();
    const d = engine.score(it);
    const policy = policyVerdict(p);
    const outcome = combineVerdicts(policy, d);
    const attack = p.label !== "legit";
    let kind: RiskEventKind;
    if (outcome === "allow") kind = p.failsIfAllowed ? "failed" : "authorized";
    else if (outcome === "review") kind = attack ? "declined" : p.failsIfAllowed ? "failed" : "authorized";
    else kind = "declined";
    engine.record({ ...it, kind });
    lat[i] = (performance.now() - s) * 1000;
    const victim = `${p.incident}\u0000${it.agentId}`;
    if (attack && !historyAtStart.has(victim)) historyAtStart.set(victim, committed.get(it.agentId) ?? 0);
    if (kind === "authorized") committed.set(it.agentId, (committed.get(it.agentId) ?? 0) + 1);

    let breakerHit = false;
    for (const r of d.reasons) if (r.ruleId === "drain-breaker") breakerHit = true;
    if (breakerHit && openSince < 0) {
      const st = engine.breakerStatus();
      const all = [...st.global, ...st.owners];
      if (all.length > 0) {
        openSince = Math.min(...all.map((x) => x.trippedAtMs));
        for (const x of all) trips.push({ atMs: x.trippedAtMs, scope: x.scope, key: x.key });
      }
    }
    if (openSince >= 0 && it.atMs >= openSince + resetDelay) {
      void engine.resetBreaker();   // standalone: takes effect at once
      openSince = -1;
    }
    opts.onDecision?.(p, d, outcome);
    if (it.atMs < opts.measureFromMs) continue;
    const st = byLabel.get(p.label)!;
    const amt = Number(it.amountMinor);
    st.payments++;
    st.valueMinor += amt;
    st.incidents.add(p.incident);
    if (policy !== "allow") st.stoppedByPolicy++;
    if (kind === "authorized") {
      st.moved++;
      moved++;
    }
    if (outcome !== "allow") {
      st.caught++;
      if (outcome === "decline") st.declined++;
      else if (policy === "review") st.policyReviewed++;
      else st.reviewed++;
      if (!attack && breakerHit) legitHeld++;
      for (const r of d.reasons) {
        let c = reasonCounts.get(r.code);
        if (!c) reasonCounts.set(r.code, (c = { legit: 0, attack: 0 }));
        if (attack) c.attack++;
        else c.legit++;
      }
    } else if (attack) {
      if (kind === "authorized") {
        st.valueLostMinor += amt;
        const h = historyAtStart.get(victim)!;
        if (h === 0) lostByHistory.none += amt;
        else if (h < ESTABLISHED_PAYMENTS) lostByHistory.few += amt;
        else lostByHistory.established += amt;
      }
      st.incidentsMissedAny.add(p.incident);
    }
  }
  return {
    byLabel, latenciesUs: lat, movedPayments: moved, decisions: payments.length, elapsedMs: performance.now() - t0,
    breakerTrips: trips, legitHeldByBreaker: legitHeld, reasonCounts, lostByHistoryMinor: lostByHistory,
  };
}

export interface Summary {
  attack_recall: number;
  legit_decline_rate: number;
  /** Legitimate payments the risk engine sent to the person that their policy would not have. */
  legit_review_rate: number;
  loss_by_value: number;
  /** Attack payments whose money moved / all payments whose money moved, by count. */
  unauthorized_rate: number;
  /** Attack payments the sub-wallet's policy stopped (declined, or sent to the person) / attack payments. */
  stopped_by_policy: number;
  /** Legitimate payments sent to the person by their own approval threshold (not counted as reviews above). */
  legit_policy_review_rate: number;
  attack_value_missed_share: number;
  attack_payments: number;
  legit_payments: number;
}

/**
 * loss_by_value: attack money that moved / all money asked for in the measured period
 * (the card industry's "fraud loss rate"). unauthorized_rate: attack payments that moved money / all
 * payments that moved money, by count (the "unauthorized transaction rate" payment networks quote).
 * attack_value_missed_share: attack money that moved / attack money.
 */
export function summarize(stats: RunStats): Summary {
  let ap = 0, ac = 0, av = 0, al = 0, am = 0, apol = 0;
  for (const k of ATTACK_KINDS) {
    const s = stats.byLabel.get(k)!;
    ap += s.payments;
    ac += s.caught;
    av += s.valueMinor;
    al += s.valueLostMinor;
    am += s.moved;
    apol += s.stoppedByPolicy;
  }
  const l = stats.byLabel.get("legit")!;
  return {
    attack_recall: ap === 0 ? 1 : ac / ap,
    legit_decline_rate: l.payments === 0 ? 0 : l.declined / l.payments,
    legit_review_rate: l.payments === 0 ? 0 : l.reviewed / l.payments,
    loss_by_value: al / (av + l.valueMinor),
    unauthorized_rate: stats.movedPayments === 0 ? 0 : am / stats.movedPayments,
    stopped_by_policy: ap === 0 ? 0 : apol / ap,
    legit_policy_review_rate: l.payments === 0 ? 0 : l.policyReviewed / l.payments,
    attack_value_missed_share: av === 0 ? 0 : al / av,
    attack_payments: ap,
    legit_payments: l.payments,
  };
}

/** A plain-text table: one row per label. */
export function formatTable(stats: RunStats): string {
  const rows = [["label", "incidents", "payments", "caught", "recall", "reviewed", "policy_asked", "declined", "by_policy", "moved", "value_usd", "lost_usd", "incidents_w_miss"]];
  for (const [label, s] of stats.byLabel) {
    if (s.payments === 0) continue;
    const inc = label === "legit" ? "-" : String(s.incidents.size);
    rows.push([
      label, inc, String(s.payments), String(s.caught), (s.caught / s.payments).toFixed(4), String(s.reviewed), String(s.policyReviewed),
      String(s.declined), String(s.stoppedByPolicy), String(s.moved),
      (s.valueMinor / 100).toFixed(0), (s.valueLostMinor / 100).toFixed(2), label === "legit" ? "-" : String(s.incidentsMissedAny.size),
    ]);
  }
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((x, c) => (c === 0 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join("  ")).join("\n");
}
