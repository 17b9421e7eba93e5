// The payment workload the payment benchmarks share (bench:payments in-process, bench:http over HTTP):
// the rule set they score with, and traffic shaped like real agents'.
import { defaultRuleSet, formatAmount } from "../../src/index.ts";

// Synthetic agents pay many times a minute, which the velocity rules and a person's drain breaker
// rightly stop: with the engine on, every payment is still scored against the default rule set
// minus those rules, with the person's breaker floor raised.
const VELOCITY_RULES = new Set(["attempt-flood", "decline-streak", "duplicate-payment", "merchant-surge", "velocity-1m", "velocity-1h",
  "subwallet-velocity-1h", "same-merchant-burst", "daily-outflow"]);

export const benchRules = {
  ...defaultRuleSet, version: `${defaultRuleSet.version}-bench`,
  rules: defaultRuleSet.rules.map((r) => (VELOCITY_RULES.has(r.id) ? { ...r, enabled: false } : r)),
};

/** The risk options both benchmarks open agentpay with. */
export const benchRisk = { rules: benchRules, breaker: { ownerMinMinor: 1e12 } };

/** Each agent pays its own three merchants (the risk engine rightly flags random payees)... */
export const merchantOf = (merchants: readonly string[], agent: number, i: number): string => merchants[(agent * 3 + (i % 3)) % merchants.length]!;
/** ...amounts near its usual one (and 50x swings), written as decimal strings; money stays integer. */
const usual = (agent: number) => 500n + BigInt((agent * 7919) % 4500);
export const priceOf = (agent: number, i: number): string => formatAmount({ minor: (usual(agent) * BigInt(90 + ((i * 37) % 21))) / 100n, currency: "USD" });

export const percentile = (sorted: Float64Array, p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
