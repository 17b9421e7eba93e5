// Recent payments, filterable by status, sub-wallet and agent; and one payment's story: intent →
// decision and its reasons → approval → hold → capture → refunds → callbacks.
import type { AgentPay, Payment, SubWallet } from "../../index.ts";
import { html } from "../html.ts";
import type { Node } from "../html.ts";
import type { ConsoleLive } from "../live.ts";
import { categoryLabel } from "../mcc.ts";
import { nameOr } from "../scope.ts";
import { badge, money, when } from "./layout.ts";
import type { View } from "./layout.ts";

export const STATUS_FILTERS = ["pending_approval", "authorized", "captured", "refunded", "voided", "expired", "declined", "denied"] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

/** The status a person reads: a captured payment with money given back shows as refunded. */
export function shownStatus(p: Payment): string {
  return p.status === "captured" && (p.refundedMinor ?? 0n) > 0n ? "refunded" : p.status;
}

export interface PaymentFilter {
  status?: StatusFilter;
  subWalletId?: string;
  agentId?: string;
  ownerId?: string;
}

function query(f: PaymentFilter, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  for (const [k, val] of Object.entries({ ...f, ...extra })) if (val !== undefined && val !== "") q.set(k === "ownerId" ? "owner" : k, String(val));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function paymentsTable(v: View, pay: AgentPay, rows: readonly Payment[], f: PaymentFilter, next: string | undefined): Node {
  const tz = (p: Payment) => nameOr(() => pay.wallets.getSubWallet(p.subWalletId).timeZone, "UTC");
  if (rows.length === 0) return html`<p class="empty">No payment matches.</p>`;
  return html`<div class="table-wrap" role="region" aria-labelledby="payments-caption" tabindex="0">
    <table>
      <caption id="payments-caption">Payments, newest first</caption>
      <thead><tr><th scope="col">When</th><th scope="col">Agent</th><th scope="col">Merchant</th><th scope="col" class="num">Amount</th><th scope="col">Status</th><th scope="col">Sub-wallet</th></tr></thead>
      <tbody>
        ${rows.map((p) => html`<tr>
          <td><a href=${`${v.base}/payments/${p.id}`}>${when(v, p.createdAtMs, tz(p))}</a></td>
          <td>${nameOr(() => pay.agents.get(p.agentId).name, p.agentId)}</td>
          <td>${nameOr(() => pay.merchants.get(p.merchantId).name, p.merchantId)}</td>
          <td class="num">${money(v, p.amountMinor, p.currency)}</td>
          <td>${badge(shownStatus(p))}</td>
          <td>${nameOr(() => pay.wallets.getSubWallet(p.subWalletId).name, p.subWalletId)}</td>
        </tr>`)}
      </tbody>
    </table>
  </div>
  ${next ? html`<p class="pager"><a href=${`${v.base}/payments${query(f, { after: next })}`}>Older payments</a></p>` : null}`;
}

export function paymentsPage(v: View, pay: AgentPay, opts: {
  filter: PaymentFilter; subWallets: readonly SubWallet[]; agents: ReadonlyArray<{ id: string; name: string }>; table: Node; ownerPicker?: Node;
}): Node {
  const f = opts.filter;
  return html`
    ${opts.ownerPicker ?? null}
    <form class="filters" method="get" action=${`${v.base}/payments`} role="search" aria-label="Filter payments">
      ${f.ownerId && v.principal?.kind === "operator" ? html`<input type="hidden" name="owner" value=${f.ownerId} />` : null}
      <div><label for="f-status">Status</label>
        <select id="f-status" name="status">
          <option value="">Any status</option>
          ${STATUS_FILTERS.map((s) => html`<option value=${s} selected=${f.status === s}>${s.replace(/_/g, " ")}</option>`)}
        </select></div>
      <div><label for="f-sw">Sub-wallet</label>
        <select id="f-sw" name="subWalletId">
          <option value="">Any sub-wallet</option>
          ${opts.subWallets.map((s) => html`<option value=${s.id} selected=${f.subWalletId === s.id}>${s.name}</option>`)}
        </select></div>
      <div><label for="f-agent">Agent</label>
        <select id="f-agent" name="agentId">
          <option value="">Any agent</option>
          ${opts.agents.map((a) => html`<option value=${a.id} selected=${f.agentId === a.id}>${a.name}</option>`)}
        </select></div>
      <div><button type="submit">Show</button></div>
    </form>
    <div id="payments-table" hx-get=${`${v.base}/payments/table${query(f)}`} hx-trigger="payments-changed from:body" hx-swap="innerMorph">
      ${opts.table}
    </div>`;
}

/** One step of a payment's story. */
function step(title: string, body: unknown, muted = false): Node {
  return html`<li class=${muted ? "muted" : undefined}><h2>${title}</h2>${body}</li>`;
}

export function storyPage(v: View, pay: AgentPay, live: ConsoleLive, p: Payment): Node {
  const sw = nameOr(() => pay.wallets.getSubWallet(p.subWalletId), undefined);
  const tz = sw?.timeZone ?? "UTC";
  const cur = p.currency;
  const agent = nameOr(() => pay.agents.get(p.agentId).name, p.agentId);
  const merchant = nameOr(() => pay.merchants.get(p.merchantId).name, p.merchantId);
  const d = p.decision;
  const steps: Node[] = [];

  steps.push(step("Intent", html`<p>${when(v, p.createdAtMs, tz)}: <strong>${agent}</strong> asked to pay <strong>${merchant}</strong>
    (${categoryLabel(p.category)}) <strong>${money(v, p.amountMinor, cur)}</strong> from ${sw?.name ?? p.subWalletId}.</p>
    <dl class="facts">
      ${p.reference !== undefined ? html`<dt>Reference</dt><dd><code>${p.reference}</code></dd>` : null}
      ${p.grantId ? html`<dt>Grant</dt><dd><code>${p.grantId}</code></dd>` : null}
      <dt>Signed with key</dt><dd><code>${p.agentKid}</code></dd>
    </dl>`));

  steps.push(step(`Decision: ${d.outcome}`, html`<p>${when(v, d.atMs, tz)}</p>
    <h3>Policy (version ${String(d.policy.version)}): ${d.policy.outcome}</h3>
    ${d.policy.reasons.length ? html`<ul class="reasons">${d.policy.reasons.map((r) => html`<li><code>${r.code}</code>: ${r.message}</li>`)}</ul>` : html`<p>No rule objected.</p>`}
    <h3>Risk (rules ${d.risk.ruleSetVersion}): ${d.risk.outcome}, score ${String(d.risk.score)}</h3>
    ${d.risk.reasons.length ? html`<ul class="reasons">${d.risk.reasons.map((r) => html`<li><code>${r.code}</code>: ${r.message}</li>`)}</ul>` : html`<p>No risk signal.</p>`}`));

  if (p.approvalId) {
    const a = nameOr(() => pay.approvals.get(p.approvalId!), undefined);
    steps.push(step("Approval", a ? html`<p>Asked ${when(v, a.createdAtMs, tz)}; ${a.status === "pending"
      ? html`waiting, until ${when(v, a.expiresAtMs, tz)}.`
      : html`${a.status}${a.resolvedBy ? ` by ${a.resolvedBy}` : ""}${a.resolvedAtMs !== undefined ? html` at ${when(v, a.resolvedAtMs, tz)}` : null}.`}</p>
      ${a.note ? html`<p>Note: “${a.note}”</p>` : null}` : html`<p><code>${p.approvalId}</code></p>`, a?.status === "pending"));
  }

  if (p.authorizedAtMs !== undefined) {
    steps.push(step("Hold", html`<p>${when(v, p.authorizedAtMs, tz)}: ${money(v, p.amountMinor, cur)} held in ${sw?.name ?? p.subWalletId}; a single-use token
      (<code>${p.tokenId ?? "?"}</code>) went to the agent${p.expiresAtMs !== undefined ? html`, valid until ${when(v, p.expiresAtMs, tz)}` : null}.</p>`));
  } else if (p.status === "declined") {
    steps.push(step("Declined", html`<p>Nothing was held and nothing moved.</p>`));
  } else if (p.status === "denied") {
    steps.push(step("Denied", html`<p>${p.resolvedAtMs !== undefined ? html`${when(v, p.resolvedAtMs, tz)}: ` : null}nothing was held and nothing moved.</p>`));
  }

  if (p.capturedAtMs !== undefined) {
    const captured = p.capturedMinor ?? 0n;
    steps.push(step("Capture", html`<p>${when(v, p.capturedAtMs, tz)}: ${merchant} captured ${money(v, captured, cur)}${captured < p.amountMinor
      ? html`; ${money(v, p.amountMinor - captured, cur)} went back to the sub-wallet` : null}.</p>`));
  } else if (p.status === "voided" || p.status === "expired") {
    steps.push(step(p.status === "voided" ? "Voided" : "Expired", html`<p>${p.resolvedAtMs !== undefined ? html`${when(v, p.resolvedAtMs, tz)}: ` : null}the hold was released; nothing was paid.</p>`));
  } else if (p.status === "authorized") {
    steps.push(step("Capture", html`<p>Waiting for ${merchant} to redeem the token.</p>`, true));
  }

  const refunds = refundsOf(pay, p);
  const requests = nameOr(() => pay.payments.refundRequests({ paymentId: p.id, limit: 100 }), []);
  if (refunds.length || (p.refundedMinor ?? 0n) > 0n || requests.length) {
    steps.push(step("Refunds", html`
      ${refunds.length ? html`<ul>${refunds.map((r) => html`<li>${when(v, r.atMs, tz)}: ${money(v, r.amountMinor, cur)} back (<code>${r.refundId}</code>)</li>`)}</ul>` : null}
      ${(p.refundedMinor ?? 0n) > 0n ? html`<p>Refunded in all: ${money(v, p.refundedMinor!, cur)}.</p>` : null}
      ${requests.length ? html`<ul>${requests.map((r) => html`<li>The agent asked for ${money(v, r.amountMinor, r.currency)} back ${when(v, r.createdAtMs, tz)}: ${r.status}</li>`)}</ul>` : null}`));
  }

  const callbacks = callbacksOf(pay, live, p.id);
  steps.push(step("Callbacks", callbacks.length
    ? html`<ul>${callbacks.map((c) => html`<li><code>${c.type}</code> to the merchant: ${c.status}${c.attempts ? `, ${c.attempts} attempt${c.attempts === 1 ? "" : "s"}` : ""}${c.lastCode ? ` (last answer HTTP ${c.lastCode})` : ""}</li>`)}</ul>`
    : html`<p>No merchant callback seen${p.capturedAtMs === undefined ? " yet" : " since this server started"}.</p>`, callbacks.length === 0));

  return html`<p>${badge(shownStatus(p))} <span class="amount">${money(v, p.amountMinor, cur)}</span> to ${merchant} by ${agent} · <code>${p.id}</code></p>
    <ol class="story">${steps}</ol>
    <p><a href=${`${v.base}/payments?subWalletId=${p.subWalletId}`}>All payments of ${sw?.name ?? p.subWalletId}</a></p>`;
}

interface RefundLine { refundId: string; amountMinor: bigint; atMs: number }

/** Refund transfers of a payment, from its sub-wallet's statement after the capture (bounded scan). */
function refundsOf(pay: AgentPay, p: Payment): RefundLine[] {
  if ((p.refundedMinor ?? 0n) === 0n || !p.captureTransferId) return [];
  const capture = nameOr(() => pay.ledger.getTransfer(p.captureTransferId!), undefined);
  if (!capture) return [];
  const out: RefundLine[] = [];
  let cursor: string | undefined = String(capture.seq);
  for (let page = 0; page < 5 && cursor !== undefined; page++) {
    const st = nameOr(() => pay.wallets.statement(p.subWalletId, { cursor: cursor!, limit: 1000 }), undefined);
    if (!st) break;
    for (const e of st.entries) {
      if (e.code === "refund" && e.metadata?.paymentId === p.id) out.push({ refundId: e.metadata.refundId ?? e.transferId, amountMinor: e.amountMinor, atMs: e.atMs });
    }
    cursor = st.nextCursor;
  }
  return out;
}

interface CallbackLine { type: string; status: string; attempts: number; lastCode?: number }

/** The merchant callbacks (webhook deliveries) of the events this server saw about the payment. */
function callbacksOf(pay: AgentPay, live: ConsoleLive, paymentId: string): CallbackLine[] {
  const out: CallbackLine[] = [];
  for (const eventId of live.eventsOfPayment(paymentId)) {
    const e = pay.events.event(eventId);
    if (!e) continue;
    for (const d of pay.events.deliveries(eventId)) {
      if (d.destination.kind !== "webhook") continue;
      const last = d.log[d.log.length - 1];
      out.push({ type: e.type, status: d.status, attempts: d.attempts, ...(last?.statusCode !== undefined ? { lastCode: last.statusCode } : {}) });
    }
  }
  return out;
}
