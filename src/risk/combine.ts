import type { RiskDecision, RiskOutcome } from "./types.ts";

/**
 * One payment's outcome from the sub-wallet policy's verdict and the risk engine's decision: the two
 * are one defence, decided in one command. The payment flow and the simulator both use this, so what
 * the simulator measures is what the flow does.
 *
 * - A policy decline, or a hard risk decline (a hard rule or the drain breaker), declines.
 * - Where the policy asks the person anyway (above their approval threshold), a risk decline that only
 *   the summed score made goes to the person with its reasons instead: they are better placed to judge
 *   it than a silent refusal (a known-legitimate payment after two declines is the case in point).
 * - Otherwise a review by either asks the person; both allowing allows.
 */
export function combineVerdicts(policy: RiskOutcome, risk: RiskDecision): RiskOutcome {
  if (policy === "decline") return "decline";
  if (risk.outcome === "decline") return policy === "review" && risk.hard === false ? "review" : "decline";
  if (policy === "review" || risk.outcome === "review") return "review";
  return "allow";
}
