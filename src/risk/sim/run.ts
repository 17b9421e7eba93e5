import type { RiskEngine } from "../engine.ts";
import type { RiskDecision, RiskEventKind } from "../types.ts";
import { ATTACK_KINDS, type SimLabel, type SimPayment } from "./simulate.ts";

export interface LabelStats {
  payments: number;
  caught: number;
  reviewed: number;
  declined: number;
  valueMinor: number;
  valueLostMinor: number;
  incidents: Set<number>;
  incidentsMissedAny: Set<number>;
}

export interface RunStats {
  byLabel: Map<SimLabel, LabelStats>;
  /** Per-payment time of score + record, in microseconds (all payments, warmup included). */
  latenciesUs: Float64Array;
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
  onDecision?: (p: SimPayment, d: RiskDecision) => void;
}

function emptyStats(): LabelStats {
  return { payments: 0, caught: 0, reviewed: 0, declined: 0, valueMinor: 0, valueLostMinor: 0, incidents: new Set(), incidentsMissedAny: new Set() };
}

/**
 * Drives payments through score → (person decides on reviews) → record, in time order.
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
  const t0 = performance.now();
  for (let i = 0; i < payments.length; i++) {
    const p = payments[i]!;
    const it = p.intent;
    const s = performance.now();
    const d = engine.score(it);
    const attack = p.label !== "legit";
    let kind: RiskEventKind;
    if (d.outcome === "allow") kind = p.failsIfAllowed ? "failed" : "authorized";
    else if (d.outcome === "review") kind = attack ? "declined" : p.failsIfAllowed ? "failed" : "authorized";
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
      engine.resetBreaker();
      openSince = -1;
    }
    opts.onDecision?.(p, d);
    if (it.atMs < opts.measureFromMs) continue;
    const st = byLabel.get(p.label)!;
    const amt = Number(it.amountMinor);
    st.payments++;
    st.valueMinor += amt;
    st.incidents.add(p.incident);
    if (d.outcome !== "allow") {
      st.caught++;
      if (d.outcome === "review") st.reviewed++;
      else st.declined++;
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
    byLabel, latenciesUs: lat, decisions: payments.length, elapsedMs: performance.now() - t0,
    breakerTrips: trips, legitHeldByBreaker: legitHeld, reasonCounts, lostByHistoryMinor: lostByHistory,
  };
}

export interface Summary {
  attack_recall: number;
  legit_decline_rate: number;
  legit_review_rate: number;
  loss_by_value: number;
  attack_value_missed_share: number;
  attack_payments: number;
  legit_payments: number;
}

/**
 * loss_by_value: attack money that moved / all money asked for in the measured period
 * (the card industry's "fraud loss rate"). attack_value_missed_share: attack money that moved / attack money.
 */
export function summarize(stats: RunStats): Summary {
  let ap = 0, ac = 0, av = 0, al = 0;
  for (const k of ATTACK_KINDS) {
    const s = stats.byLabel.get(k)!;
    ap += s.payments;
    ac += s.caught;
    av += s.valueMinor;
    al += s.valueLostMinor;
  }
  const l = stats.byLabel.get("legit")!;
  return {
    attack_recall: ap === 0 ? 1 : ac / ap,
    legit_decline_rate: l.payments === 0 ? 0 : l.declined / l.payments,
    legit_review_rate: l.payments === 0 ? 0 : l.reviewed / l.payments,
    loss_by_value: al / (av + l.valueMinor),
    attack_value_missed_share: av === 0 ? 0 : al / av,
    attack_payments: ap,
    legit_payments: l.payments,
  };
}

/** A plain-text table: one row per label. */
export function formatTable(stats: RunStats): string {
  const rows = [["label", "incidents", "payments", "caught", "recall", "reviewed", "declined", "value_usd", "lost_usd", "incidents_w_miss"]];
  for (const [label, s] of stats.byLabel) {
    if (s.payments === 0) continue;
    const inc = label === "legit" ? "-" : String(s.incidents.size);
    rows.push([
      label, inc, String(s.payments), String(s.caught), (s.caught / s.payments).toFixed(4), String(s.reviewed), String(s.declined),
      (s.valueMinor / 100).toFixed(0), (s.valueLostMinor / 100).toFixed(2), label === "legit" ? "-" : String(s.incidentsMissedAny.size),
    ]);
  }
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((x, c) => (c === 0 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join("  ")).join("\n");
}
