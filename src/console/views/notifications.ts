// The notifications the person's policy rules raised (budget percentage used, above an amount, new
// merchant, declines, approvals needed, grants about to expire), newest first, as they arrive.
import type { AgentPay, Event } from "../../index.ts";
import { html } from "../html.ts";
import type { Node } from "../html.ts";
import { nameOr } from "../scope.ts";
import { money, when } from "./layout.ts";
import type { View } from "./layout.ts";

interface Matched { when?: string; amountMinor?: bigint; percent?: number; withinMs?: number; budgets?: Array<{ window?: string; usedMinor?: bigint; limitMinor?: bigint }> }
interface NotificationData { fact?: string; matched?: Matched[]; amountMinor?: bigint; currency?: string; reasons?: string[]; expiresAtMs?: number }

const FACT: Record<string, string> = {
  payment: "Payment", refund: "Refund", declined: "Declined payment", approval_needed: "Approval needed", grant_expiring: "Grant about to expire",
};

function describe(v: View, d: NotificationData, cur: string, tz: string): Node[] {
  const out: Node[] = [];
  for (const m of d.matched ?? []) {
    switch (m.when) {
      case "amount_above":
        out.push(html`<li>above ${m.amountMinor !== undefined ? money(v, m.amountMinor, cur) : "your amount"}</li>`);
        break;
      case "budget_used":
        for (const b of m.budgets ?? []) {
          out.push(html`<li>${String(m.percent)}% of the ${b.window ?? ""} budget used (${b.usedMinor !== undefined ? money(v, b.usedMinor, cur) : "?"} of ${b.limitMinor !== undefined ? money(v, b.limitMinor, cur) : "?"})</li>`);
        }
        break;
      case "new_merchant":
        out.push(html`<li>first payment to this merchant</li>`);
        break;
      case "grant_expiring":
        out.push(html`<li>the grant expires ${d.expiresAtMs !== undefined ? when(v, d.expiresAtMs, tz) : "soon"}</li>`);
        break;
      case "declined":
      case "approval_needed":
        if (d.reasons?.length) out.push(html`<li>because: ${d.reasons.join(", ")}</li>`);
        break;
      default:
        break;
    }
  }
  return out;
}

export function notificationsList(v: View, pay: AgentPay, events: readonly Event[]): Node {
  if (events.length === 0) return html`<p class="empty">No notification since this server started.</p>`;
  return html`<ol class="plain">${events.map((e) => {
    const d = (e.data ?? {}) as NotificationData;
    const sw = e.subject.subWalletId ? nameOr(() => pay.wallets.getSubWallet(e.subject.subWalletId!), undefined) : undefined;
    const tz = sw?.timeZone ?? "UTC";
    const cur = d.currency ?? sw?.currency ?? "USD";
    const reasons = describe(v, d, cur, tz);
    return html`<li class="card" id=${e.id}>
      <h2>${FACT[d.fact ?? ""] ?? d.fact ?? "Notification"}${d.amountMinor !== undefined ? html`: ${money(v, d.amountMinor, cur)}` : null}</h2>
      <p>${when(v, e.createdAtMs, tz)}${sw ? ` · ${sw.name}` : ""}${e.subject.paymentId ? html` · <a href=${`${v.base}/payments/${e.subject.paymentId}`}>the payment</a>` : null}</p>
      ${reasons.length ? html`<ul>${reasons}</ul>` : null}
    </li>`;
  })}</ol>`;
}

export function notificationsPage(v: View, pay: AgentPay, events: readonly Event[]): Node {
  return html`<p>What your sub-wallets' notification rules raised while this server has been running, newest first.</p>
    <section id="notifications" aria-label="Notifications" hx-get=${`${v.base}/notifications/list`} hx-trigger="notifications-changed from:body" hx-swap="innerMorph">
      ${notificationsList(v, pay, events)}
    </section>`;
}
