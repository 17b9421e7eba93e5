import type { Tx } from "../engine/index.ts";
import { NOTIFICATIONS_TOPIC, agentInitiatedHeaders, appendEvent, notificationsFor } from "../events/index.ts";
import type { EventInput, EventType, NotificationFact } from "../events/index.ts";
import { getMerchantIn } from "../merchants/index.ts";
import { budgetStatusIn } from "../wallets/index.ts";
import type { SubWallet } from "../wallets/index.ts";
import type { Payment } from "./records.ts";

/** Topic of the in-process payment event stream. */
export const PAYMENTS_TOPIC = "payments";

export function subjectOf(p: Payment): Record<string, string> {
  return {
    paymentId: p.id, walletId: p.walletId, subWalletId: p.subWalletId, agentId: p.agentId, merchantId: p.merchantId,
    ...(p.grantId ? { grantId: p.grantId } : {}),
    ...(p.approvalId ? { approvalId: p.approvalId } : {}),
  };
}

export function paymentData(p: Payment, extra: Record<string, string | bigint | number | boolean> = {}) {
  return {
    status: p.status, amountMinor: p.amountMinor, currency: p.currency, category: p.category,
    ...(p.reference !== undefined ? { reference: p.reference } : {}),
    ...extra,
  };
}

/**
 * Queues an event about a payment in the same command: to the in-process stream, and
 * (when `toMerchant`) to the merchant's signed callback marked as agent-initiated.
 */
export function emitPaymentEvent(
  tx: Tx, type: EventType, p: Payment, opts: { toMerchant?: boolean; data?: Record<string, string | bigint | number | boolean> } = {},
): void {
  const destinations: EventInput["destinations"][number][] = [{ kind: "topic", topic: PAYMENTS_TOPIC }];
  if (opts.toMerchant) {
    const m = getMerchantIn(tx, p.merchantId);
    if (m.callbackUrl) {
      destinations.push({
        kind: "webhook", url: m.callbackUrl, secretRef: `merchant:${m.id}`,
        headers: agentInitiatedHeaders({ agentId: p.agentId, ...(p.grantId ? { grantId: p.grantId } : {}) }),
      });
    }
  }
  appendEvent(tx, { type, subject: subjectOf(p), data: paymentData(p, opts.data), destinations });
}

/** The person's notifications for what just happened, per the sub-wallet's rules. */
export function notify(tx: Tx, sw: SubWallet, p: Payment, fact: Omit<NotificationFact, "subject" | "currency" | "nowMs">): void {
  const rules = sw.policy.notify;
  if (!rules || rules.length === 0) return;
  const budgets = fact.kind === "payment" ? budgetsOf(tx, sw) : undefined;
  for (const n of notificationsFor(rules, {
    ...fact, currency: p.currency, nowMs: tx.nowMs, subject: subjectOf(p), ...(budgets ? { budgets } : {}),
  })) appendEvent(tx, n);
}

function budgetsOf(tx: Tx, sw: SubWallet) {
  const s = budgetStatusIn(tx, sw, tx.nowMs);
  return [s.daily, s.weekly, s.monthly, s.rolling24h]
    .filter((w) => w.limitMinor !== undefined)
    .map((w) => ({ window: w.window, limitMinor: w.limitMinor!, usedMinor: w.usedMinor }));
}

export { NOTIFICATIONS_TOPIC };
