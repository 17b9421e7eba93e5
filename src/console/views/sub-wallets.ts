// Sub-wallets: money available, budget used per period as bars, limits and categories, the agents
// holding grants, and the freeze switch (effective for the very next request).
import type { AgentPay, BudgetStatus, SubWallet, Wallet } from "../../index.ts";
import { html } from "../html.ts";
import type { Node } from "../html.ts";
import { categoryLabel } from "../mcc.ts";
import { nameOr } from "../scope.ts";
import { badge, csrfField, money, when } from "./layout.ts";
import type { View } from "./layout.ts";

const WINDOW_LABEL = { daily: "Today", weekly: "This week", monthly: "This month", rolling24h: "Last 24 hours" } as const;
const MINUTE_DAY = 1440;

function hhmm(minute: number): string {
  return minute === MINUTE_DAY ? "24:00" : `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
}

function budgetBars(v: View, sw: SubWallet, b: BudgetStatus): Node {
  return html`<div class="budgets">${(["daily", "weekly", "monthly", "rolling24h"] as const).map((w) => {
    const s = b[w];
    const id = `${sw.id}-${w}`;
    const used = money(v, s.usedMinor, b.currency);
    if (s.limitMinor === undefined) {
      return html`<div class="budget"><div class="label"><span id=${id}>${WINDOW_LABEL[w]}</span><span>${used} used · no limit</span></div></div>`;
    }
    const pct = Math.min(100, s.usedPercent ?? 0);
    return html`<div class="budget">
      <div class="label"><span id=${id}>${WINDOW_LABEL[w]}${s.windowId ? html` <span class="visually-hidden">(${s.windowId})</span>` : null}</span>
        <span>${used} of ${money(v, s.limitMinor, b.currency)} · ${money(v, s.remainingMinor ?? 0n, b.currency)} left</span></div>
      <meter min="0" max="100" low="75" high="90" optimum="0" value=${String(pct)} aria-labelledby=${id}
             aria-valuetext=${`${pct}% used`}>${pct}%</meter>
    </div>`;
  })}</div>`;
}

function listLine(label: string, list: { allow?: readonly string[]; block?: readonly string[] } | undefined, show: (x: string) => string): Node[] {
  const out: Node[] = [];
  if (list?.allow) out.push(html`<dt>${label} allowed</dt><dd>${list.allow.length ? list.allow.map(show).join("; ") : "none"}</dd>`);
  if (list?.block) out.push(html`<dt>${label} blocked</dt><dd>${list.block.length ? list.block.map(show).join("; ") : "none"}</dd>`);
  if (!list?.allow && !list?.block) out.push(html`<dt>${label}</dt><dd>any</dd>`);
  return out;
}

export function subWalletCard(v: View, pay: AgentPay, sw: SubWallet): Node {
  const p = sw.policy;
  const cur = sw.currency;
  const balance = nameOr(() => pay.wallets.balance(sw.id), undefined);
  const budget = nameOr(() => pay.wallets.budget(sw.id), undefined);
  const grants = pay.grants.list({ subWalletId: sw.id, activeOnly: true, limit: 100 });
  const frozen = sw.status === "frozen";
  const act = `${v.base}/sub-wallets/${sw.id}/${frozen ? "unfreeze" : "freeze"}`;
  const merchantName = (id: string) => nameOr(() => `${pay.merchants.get(id).name} (${id})`, id);
  return html`<article class=${`card subwallet${frozen ? " frozen" : ""}`} id=${sw.id} aria-labelledby=${`${sw.id}-name`}>
    <h3 id=${`${sw.id}-name`}>${sw.name} ${badge(sw.status)}</h3>
    <p>${balance ? html`<span class="amount">${money(v, balance.availableMinor, cur)}</span> available` : null}
      ${balance && balance.pendingDebitsMinor > 0n ? html` · ${money(v, balance.pendingDebitsMinor, cur)} held` : null}</p>
    ${frozen ? html`<p class="notice bad">Frozen: every payment from this sub-wallet is refused until you unfreeze it.</p>` : null}
    <h4>Budget used</h4>
    ${budget ? budgetBars(v, sw, budget) : html`<p class="empty">No budget information.</p>`}
    <h4>Limits</h4>
    <dl class="facts">
      <dt>Per payment</dt><dd>${p.perPaymentMinor !== undefined ? money(v, p.perPaymentMinor, cur) : "no limit"}</dd>
      <dt>Ask me above</dt><dd>${p.approvalAboveMinor !== undefined ? money(v, p.approvalAboveMinor, cur) : "never"}</dd>
      <dt>Payments today</dt><dd>${budget ? `${budget.paymentsToday.count}${budget.paymentsToday.max !== undefined ? ` of ${budget.paymentsToday.max}` : ""}` : "?"}</dd>
      ${p.activeHours ? html`<dt>Active hours</dt><dd>${hhmm(p.activeHours.fromMinute)}–${hhmm(p.activeHours.toMinute)}${p.activeHours.days ? ` (${p.activeHours.days.join(", ")})` : ""}, ${sw.timeZone}</dd>` : null}
      ${p.expiresAtMs !== undefined ? html`<dt>Policy ends</dt><dd>${when(v, p.expiresAtMs, sw.timeZone)}</dd>` : null}
      ${listLine("Categories", p.categories, categoryLabel)}
      ${listLine("Merchants", p.merchants, merchantName)}
      <dt>Time zone</dt><dd>${sw.timeZone}</dd>
    </dl>
    <h4>Agents</h4>
    ${grants.length === 0 ? html`<p class="empty">No agent holds a grant on it.</p>` : html`<ul class="plain">${grants.map((g) => html`<li>
      <a href=${`${v.base}/agents#${g.agentId}`}>${nameOr(() => pay.agents.get(g.agentId).name, g.agentId)}</a>: ${g.scopes.join(", ")}${g.expiresAtMs !== undefined ? html`, until ${when(v, g.expiresAtMs, sw.timeZone)}` : null}
    </li>`)}</ul>`}
    <div class="actions">
      <a class="button secondary" href=${`${v.base}/payments?subWalletId=${sw.id}`}>Payments</a>
      ${sw.status === "closed" ? null : html`<form method="post" action=${act} hx-post=${act} hx-target=${`#${sw.id}`} hx-swap="outerHTML" hx-disable="find button" class="inline">
        ${csrfField(v)}
        <button type="submit" class=${frozen ? "secondary" : "danger"} aria-describedby=${`${sw.id}-name`}>${frozen ? "Unfreeze" : "Freeze"}</button>
      </form>`}
    </div>
  </article>`;
}

export function subWalletsPage(v: View, pay: AgentPay, groups: ReadonlyArray<{ wallet: Wallet; subWallets: readonly SubWallet[] }>): Node {
  if (groups.length === 0) return html`<p class="empty">No wallet yet.</p>`;
  return html`${groups.map(({ wallet, subWallets }) => {
    const bal = nameOr(() => pay.wallets.balance(wallet.id), undefined);
    return html`<section class="wallet" aria-labelledby=${`${wallet.id}-h`} hx-get=${`${v.base}/sub-wallets/wallet/${wallet.id}`}
        hx-trigger="payments-changed from:body" hx-swap="innerMorph" id=${`${wallet.id}-live`}>
      ${walletSection(v, pay, wallet, subWallets, bal?.availableMinor)}
    </section>`;
  })}`;
}

export function walletSection(v: View, pay: AgentPay, wallet: Wallet, subWallets: readonly SubWallet[], availableMinor: bigint | undefined): Node {
  return html`<h2 id=${`${wallet.id}-h`}>Wallet <code>${wallet.id}</code> · ${wallet.currency} · ${wallet.timeZone}</h2>
    <p>${availableMinor !== undefined ? html`Not yet given to a sub-wallet: <strong>${money(v, availableMinor, wallet.currency)}</strong>` : null}
      ${v.principal?.kind === "operator" ? html` · person <code>${wallet.ownerId}</code>` : null}</p>
    ${subWallets.length === 0 ? html`<p class="empty">No sub-wallet.</p>` : html`<div class="grid">${subWallets.map((sw) => subWalletCard(v, pay, sw))}</div>`}`;
}
