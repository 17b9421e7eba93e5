import type { Tx } from "../engine/index.ts";

/**
 * The risk engine's state is derived: a reopened process rebuilds it by replaying what it learnt from
 * (payment changes, operator resets of the drain breaker). Its features fold events in order (running
 * means, last-N rings, least-recently-used eviction), so the replay must use the order the live engine
 * saw, not the order of timestamps: two payments in one millisecond, or a clock stepped back, would
 * otherwise give a slightly different state. Every change the engine learns from therefore takes the
 * next number of one durable counter, inside the command that makes it (so the number commits with it).
 */
export const RISK_SEQ_KEY = "rk/seq";

/** The next number of the durable order of risk events; call inside the command that makes the change. */
export function nextRiskSeqIn(tx: Tx): number {
  const n = (tx.get<number>(RISK_SEQ_KEY) ?? 0) + 1;
  tx.put(RISK_SEQ_KEY, n);
  return n;
}

/** Operator actions on the risk engine that change what it decides, kept so a reopen replays them. */
export const RISK_OP_PREFIX = "rk/op/";

export interface RiskOpRecord {
  readonly seq: number;
  readonly atMs: number;
  readonly kind: "breaker-reset";
  /** One person's trips only; absent: every trip. */
  readonly ownerId?: string;
}

/** Keys sort in sequence order (12 digits: a trillion changes). */
export const riskOpKey = (seq: number): string => `${RISK_OP_PREFIX}${String(seq).padStart(12, "0")}`;
