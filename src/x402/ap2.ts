// A grant as Google AP2's IntentMandate (ap2.models.mandate.IntentMandate of
// github.com/google-agentic-commerce/AP2), so an AP2 shopping agent can carry what the person let it do.
// agentpay still enforces the grant at payment time: the mandate describes it, it does not widen it.
//
//   natural_language_description  the sub-wallet's limits in words (per payment, daily…, categories,
//                                 merchants, approval threshold, hours), for the person's informed consent
//   merchants                     names of the policy's allowed merchants (null: any merchant)
//   skus                          null (agentpay limits money, not products)
//   requires_refundability        false
//   intent_expiry                 the earliest of the grant's expiry, the policy's, and now + maxTtlMs
//   user_cart_confirmation_required
//                                 AP2: "must be true if the intent mandate is not signed by the user".
//                                 agentpay does not sign it for the person, so it is true unless the
//                                 caller says the person signs it (`signedByUser`); then it is true only
//                                 when every payment needs the person's approval.
import { AgentPayError, formatAmount, validateId } from "../core/index.ts";
import { grantProblem } from "../agents/index.ts";
import type { AgentPay } from "../index.ts";

/** The A2A data key AP2 carries an IntentMandate under. */
export const INTENT_MANDATE_DATA_KEY = "ap2.mandates.IntentMandate";

export interface IntentMandate {
  user_cart_confirmation_required: boolean;
  natural_language_description: string;
  merchants: string[] | null;
  skus: string[] | null;
  requires_refundability: boolean | null;
  intent_expiry: string;
}

export interface IntentMandateOptions {
  /** The person signs the mandate before the agent carries it (AP2 then lets the agent buy without cart confirmation). */
  signedByUser?: boolean;
  /** The mandate's longest life. Default 24 h, at most 30 days. */
  maxTtlMs?: number;
}

const DAY_MS = 86_400_000;

/** The agent's grant `grantId` (active, with the `pay` scope) as an AP2 IntentMandate. */
export function grantIntentMandate(pay: AgentPay, grantId: string, opts: IntentMandateOptions = {}): IntentMandate {
  if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
  const maxTtlMs = opts.maxTtlMs ?? DAY_MS;
  if (!Number.isSafeInteger(maxTtlMs) || maxTtlMs < 60_000 || maxTtlMs > 30 * DAY_MS) {
    throw new AgentPayError("INVALID_INPUT", "maxTtlMs must be an integer from 60000 (1 min) to 30 days", { field: "maxTtlMs" });
  }
  if (opts.signedByUser !== undefined && typeof opts.signedByUser !== "boolean") {
    throw new AgentPayError("INVALID_INPUT", "signedByUser must be a boolean", { field: "signedByUser" });
  }
  const grant = pay.grants.get(validateId(grantId, "gnt", "grantId"));
  const nowMs = pay.clock.nowMs();
  const problem = grantProblem(grant, nowMs, "pay");
  if (problem) throw new AgentPayError(problem, "the grant does not let the agent pay", { grantId: grant.id });
  const sw = pay.wallets.getSubWallet(grant.subWalletId);
  if (sw.status !== "active") throw new AgentPayError(sw.status === "frozen" ? "SUBWALLET_FROZEN" : "SUBWALLET_CLOSED", "the sub-wallet cannot pay", { subWalletId: sw.id });
  const agent = pay.agents.get(grant.agentId);
  const policy = sw.policy;
  const money = (minor: bigint) => `${formatAmount({ minor, currency: policy.currency }, pay.currencies)} ${policy.currency}`;

  const limits: string[] = [];
  if (policy.perPaymentMinor !== undefined) limits.push(`at most ${money(policy.perPaymentMinor)} per payment`);
  if (policy.dailyMinor !== undefined) limits.push(`${money(policy.dailyMinor)} a day`);
  if (policy.weeklyMinor !== undefined) limits.push(`${money(policy.weeklyMinor)} a week`);
  if (policy.monthlyMinor !== undefined) limits.push(`${money(policy.monthlyMinor)} a month`);
  if (policy.rolling24hMinor !== undefined) limits.push(`${money(policy.rolling24hMinor)} in any 24 hours`);
  if (policy.maxPaymentsPerDay !== undefined) limits.push(`${policy.maxPaymentsPerDay} payments a day`);
  const names = (ids: readonly string[]) => ids.map((id) => {
    try {
      return pay.merchants.get(id).name;
    } catch {
      return id;
    }
  });
  const rules: string[] = [];
  if (policy.merchants?.allow) rules.push(`only at ${names(policy.merchants.allow).join(", ")}`);
  if (policy.merchants?.block) rules.push(`never at ${names(policy.merchants.block).join(", ")}`);
  if (policy.categories?.allow) rules.push(`only in merchant categories (MCC) ${policy.categories.allow.join(", ")}`);
  if (policy.categories?.block) rules.push(`never in merchant categories (MCC) ${policy.categories.block.join(", ")}`);
  if (policy.activeHours) {
    const hm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
    rules.push(`only between ${hm(policy.activeHours.fromMinute)} and ${hm(policy.activeHours.toMinute)} (${sw.timeZone})${policy.activeHours.days ? ` on ${policy.activeHours.days.join(", ")}` : ""}`);
  }
  if (grant.maxUses !== undefined) rules.push(`for ${grant.maxUses - grant.uses} more payment(s)`);
  const approvalAlways = policy.approvalAboveMinor === 0n;
  const approval = approvalAlways ? "every payment needs the person's approval"
    : policy.approvalAboveMinor !== undefined ? `payments above ${money(policy.approvalAboveMinor)} need the person's approval` : undefined;

  const ends = [nowMs + maxTtlMs, grant.expiresAtMs, policy.expiresAtMs].filter((x): x is number => x !== undefined);
  const expiry = Math.min(...ends);
  const description = [
    `The agent "${agent.name}" may pay from the sub-wallet "${sw.name}" in ${policy.currency}`,
    limits.length > 0 ? `: ${limits.join(", ")}` : "",
    rules.length > 0 ? `; ${rules.join("; ")}` : "",
    approval ? `; ${approval}` : "",
    `. Enforced by agentpay (grant ${grant.id}).`,
  ].join("");
  return {
    user_cart_confirmation_required: opts.signedByUser === true ? approvalAlways : true,
    natural_language_description: description,
    merchants: policy.merchants?.allow ? names(policy.merchants.allow) : null,
    skus: null,
    requires_refundability: false,
    intent_expiry: new Date(expiry).toISOString(),
  };
}
