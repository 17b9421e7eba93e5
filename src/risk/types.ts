/** What the payment flow asks the risk engine about: one payment an agent wants to make. */
export interface RiskIntent {
  agentId: string;
  subWalletId: string;
  ownerId: string;
  merchantId: string;
  /** Merchant category code (ISO 18245 MCC, e.g. "5411"). */
  category: string;
  amountMinor: bigint;
  currency: string;
  /** When the intent is made. The engine only ever uses this time, never the wall clock. */
  atMs: number;
  /** When the grant the agent pays under was made (for "time since grant"). */
  grantCreatedAtMs?: number;
  /** The sub-wallet policy's per-payment cap, if any (for "just under the limit" signals). */
  perPaymentLimitMinor?: bigint;
  /** The sub-wallet policy's approval threshold, if any (payments above it go to a human anyway). */
  approvalThresholdMinor?: bigint;
}

/** One reason behind a decision: which rule fired, what it added to the score, and why in words. */
export interface RiskReason {
  code: string;
  message: string;
  score: number;
  ruleId: string;
}

export type RiskOutcome = "allow" | "review" | "decline";

/** The decision record stored with the payment and returned to the caller on decline or review. */
export interface RiskDecision {
  outcome: RiskOutcome;
  score: number;
  reasons: RiskReason[];
  ruleSetVersion: string;
  /**
   * true when a hard rule or the drain breaker fixed the outcome; false when it comes from the summed
   * score (or is allow). The payment flow sends a score decline to the person when the policy asks them
   * anyway (see combineVerdicts). A hook that leaves it out has its declines treated as hard.
   */
  hard?: boolean;
}

/**
 * What happened to a payment, reported by the payment flow in the order it happened.
 * - `authorized`: the payment was committed (hold placed, money will move): counts in velocity,
 *   amount history, merchants/categories seen and outflow.
 * - `captured`: the merchant redeemed it. Already counted at authorization; recorded for completeness.
 * - `declined`: the attempt was refused (by risk, policy, or a person denying a review).
 * - `failed`: the attempt failed downstream (e.g. a merchant error). AgentPay's payment flow reports
 *   none: an authorization that fails (insufficient funds, a revoked grant) writes nothing, so there is
 *   nothing durable to learn from; a host that drives the engine itself may report them.
 * - `refunded` / `voided`: money came back or the hold was released (counted as refunds; velocity
 *   windows are not rewound).
 * - `reviewed`: sent to the person; no money moved yet, but it is an attempt (a loop of reviews must
 *   still trip the flood rules). Its resolution follows as `authorized` or `declined` with
 *   countsAsAttempt false (a request that expires unanswered adds nothing).
 */
export type RiskEventKind = "authorized" | "captured" | "declined" | "failed" | "refunded" | "voided" | "reviewed";

export interface RiskEvent extends RiskIntent {
  kind: RiskEventKind;
  /**
   * false for an authorization or a person's denial that follows a review: the attempt was already
   * counted then.
   */
  countsAsAttempt?: boolean;
  /**
   * The event's place in the durable order of payment changes (see nextRiskSeqIn), when it has one:
   * a reopened engine replays events in this order, so it rebuilds exactly the state it had.
   */
  seq?: number;
}
