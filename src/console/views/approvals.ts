// Pending approvals: what an agent wants to pay, why the person is asked, how long is left, and
// the two answers (with an optional note). The list refreshes live; answers land in a status region
// that stays put while the list changes under it.
import type { AgentPay, ApprovalRequest } from "../../index.ts";
import { formatDuration, isoTime } from "../format.ts";
import { html } from "../html.ts";
import type { Node } from "../html.ts";
import { categoryLabel } from "../mcc.ts";
import { nameOr } from "../scope.ts";
import { csrfField, money, when } from "./layout.ts";
import type { View } from "./layout.ts";

const WINDOWS = [["daily", "today"], ["weekly", "this week"], ["monthly", "this month"], ["rolling24h", "in 24 h"]] as const;

export interface ApprovalFacts {
  readonly approval: ApprovalRequest;
  readonly agentName: string;
  readonly merchantName: string;
  readonly category: string | undefined;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly subWalletName: string;
  readonly timeZone: string;
}

/** What the console shows about an approval, gathered from the library (names survive deletions as ids). */
export function approvalFacts(pay: AgentPay, a: ApprovalRequest): ApprovalFacts {
  const s = a.summary as { merchantId?: string; merchantName?: string; amountMinor?: bigint; currency?: string };
  const merchant = s.merchantId ? nameOr(() => pay.merchants.get(s.merchantId!), undefined) : undefined;
  const sw = nameOr(() => pay.wallets.getSubWallet(a.subWalletId), undefined);
  return {
    approval: a,
    agentName: nameOr(() => pay.agents.get(a.agentId).name, a.agentId),
    merchantName: merchant?.name ?? s.merchantName ?? s.merchantId ?? "unknown merchant",
    category: merchant?.category,
    amountMinor: typeof s.amountMinor === "bigint" ? s.amountMinor : 0n,
    currency: s.currency ?? sw?.currency ?? "USD",
    subWalletName: sw?.name ?? a.subWalletId,
    timeZone: sw?.timeZone ?? "UTC",
  };
}

function budgetLeft(v: View, pay: AgentPay, subWalletId: string): Node {
  const balance = nameOr(() => pay.wallets.balance(subWalletId), undefined);
  const budget = nameOr(() => pay.wallets.budget(subWalletId), undefined);
  const parts: Node[] = [];
  if (balance) parts.push(html`<li>${money(v, balance.availableMinor, balance.currency)} available</li>`);
  if (budget) {
    for (const [w, label] of WINDOWS) {
      const s = budget[w];
      if (s.limitMinor === undefined) continue;
      parts.push(html`<li>${money(v, s.remainingMinor ?? 0n, budget.currency)} left ${label} (of ${money(v, s.limitMinor, budget.currency)})</li>`);
    }
  }
  return parts.length ? html`<ul class="plain">${parts}</ul>` : html`<span>unknown</span>`;
}

export function approvalCard(v: View, pay: AgentPay, a: ApprovalRequest): Node {
  const f = approvalFacts(pay, a);
  const id = a.id;
  const amount = money(v, f.amountMinor, f.currency);
  const ref = (a.summary as { reference?: unknown }).reference;
  const action = `${v.base}/approvals/${id}/decide`;
  return html`<article class="card approval" id=${id} aria-labelledby=${`${id}-title`}>
    <h2 id=${`${id}-title`}><span class="amount">${amount}</span> to ${f.merchantName}</h2>
    <dl class="facts">
      <dt>Agent</dt><dd>${f.agentName} <code>${a.agentId}</code></dd>
      <dt>Merchant</dt><dd>${f.merchantName}${f.category ? html`, ${categoryLabel(f.category)}` : null}</dd>
      <dt>Amount</dt><dd>${amount}</dd>
      ${typeof ref === "string" ? html`<dt>Reference</dt><dd><code>${ref}</code></dd>` : null}
      <dt>Sub-wallet</dt><dd>${f.subWalletName}${budgetLeft(v, pay, a.subWalletId)}</dd>
      ${v.principal?.kind === "operator" ? html`<dt>Person</dt><dd><code>${a.ownerId}</code></dd>` : null}
      <dt>Asked</dt><dd>${when(v, a.createdAtMs, f.timeZone)}</dd>
      <dt>Time left</dt><dd><time datetime=${isoTime(a.expiresAtMs)} data-left-ms=${String(a.expiresAtMs - v.nowMs)}>${formatDuration(a.expiresAtMs - v.nowMs)}</time></dd>
      <dt>Payment</dt><dd><a href=${`${v.base}/payments/${a.subject.id}`}><code>${a.subject.id}</code></a></dd>
    </dl>
    <h3>Why you are asked</h3>
    <ul class="reasons">
      ${a.reasons.map((r) => html`<li><code>${r.code}</code>: ${r.message}</li>`)}
    </ul>
    <form method="post" action=${action} hx-post=${action} hx-target="#decision-status" hx-swap="innerHTML" hx-disable="find button">
      ${csrfField(v)}
      <label for=${`${id}-note`}>Note (optional)</label>
      <input type="text" id=${`${id}-note`} name="note" maxlength="500" autocomplete="off" />
      <div class="actions">
        <button type="submit" class="approve" name="decision" value="approve" aria-describedby=${`${id}-title`}>Approve</button>
        <button type="submit" class="deny" name="decision" value="deny" aria-describedby=${`${id}-title`}>Deny</button>
      </div>
    </form>
  </article>`;
}

export function approvalsList(v: View, pay: AgentPay, approvals: readonly ApprovalRequest[]): Node {
  if (approvals.length === 0) return html`<p class="empty">No payment is waiting for you.</p>`;
  return html`<div class="grid">${approvals.map((a) => approvalCard(v, pay, a))}</div>`;
}

export function approvalsPage(v: View, pay: AgentPay, approvals: readonly ApprovalRequest[], status?: Node): Node {
  return html`
    <p>Payments your agents asked for that need your answer. New requests appear here as they arrive.</p>
    <div id="decision-status" role="status" aria-live="polite">${status ?? null}</div>
    <section id="approvals" aria-label="Pending approvals" hx-get=${`${v.base}/approvals/list`} hx-trigger="approvals-changed from:body" hx-swap="innerMorph">
      ${approvalsList(v, pay, approvals)}
    </section>`;
}

export type DecisionOutcome =
  | { kind: "approved" | "denied"; facts: ApprovalFacts }
  | { kind: "already"; facts: ApprovalFacts; status: string; by?: string; atMs?: number }
  | { kind: "expired"; facts: ApprovalFacts }
  | { kind: "failed"; facts: ApprovalFacts; code: string; message: string };

/** The answer to a decision, for the status region. */
export function decisionNotice(v: View, o: DecisionOutcome): Node {
  const f = o.facts;
  const what = `${money(v, f.amountMinor, f.currency)} to ${f.merchantName} for ${f.agentName}`;
  switch (o.kind) {
    case "approved":
      return html`<p class="notice ok">Approved: ${what}. The waiting payment went ahead; the agent receives its token.</p>`;
    case "denied":
      return html`<p class="notice ok">Denied: ${what}. The agent is told no; nothing moved.</p>`;
    case "already":
      return html`<p class="notice warn" data-outcome="already-decided">Already decided: ${what} was already ${o.status}${o.by ? ` by ${o.by}` : ""}${o.atMs !== undefined ? html` at ${when(v, o.atMs, f.timeZone)}` : null}. Nothing changed.</p>`;
    case "expired":
      return html`<p class="notice warn">Too late: the request for ${what} expired and counts as denied.</p>`;
    case "failed":
      return html`<p class="notice bad">Could not approve ${what}: ${o.message} (<code>${o.code}</code>). The request is still waiting; you may deny it.</p>`;
  }
}
