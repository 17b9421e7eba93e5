// The agents acting on the person's sub-wallets, their grants, and the kill switch: revoke every
// grant the agent holds on the person's sub-wallets, at once (its very next request is refused).
import type { Agent, AgentPay, Grant, SubWallet } from "../../index.ts";
import { html } from "../html.ts";
import type { Node } from "../html.ts";
import { nameOr } from "../scope.ts";
import { badge, csrfField, when } from "./layout.ts";
import type { View } from "./layout.ts";

export interface AgentRow {
  readonly agent: Agent;
  /** Grants on the sub-wallets this page is about (all statuses, newest first). */
  readonly grants: readonly Grant[];
}

/** Usable now: active, not expired, uses left. */
export function grantUsable(g: Grant, nowMs: number): boolean {
  return g.status === "active" && (g.expiresAtMs === undefined || g.expiresAtMs > nowMs) && (g.maxUses === undefined || g.uses < g.maxUses);
}

export function agentCard(v: View, pay: AgentPay, row: AgentRow, subWallets: ReadonlyMap<string, SubWallet>, notice?: Node): Node {
  const a = row.agent;
  const live = row.grants.filter((g) => grantUsable(g, v.nowMs));
  const act = `${v.base}/agents/${a.id}/revoke`;
  const tzOf = (g: Grant) => subWallets.get(g.subWalletId)?.timeZone ?? "UTC";
  return html`<article class="card agent" id=${a.id} aria-labelledby=${`${a.id}-name`}>
    <h2 id=${`${a.id}-name`}>${a.name} ${badge(a.status)}</h2>
    ${notice ?? null}
    <p><code>${a.id}</code></p>
    <h3>Grants</h3>
    ${row.grants.length === 0 ? html`<p class="empty">No grant on your sub-wallets.</p>` : html`<ul class="plain">${row.grants.map((g) => html`<li>
      ${badge(grantUsable(g, v.nowMs) ? "active" : g.status === "revoked" ? "revoked" : "expired", grantUsable(g, v.nowMs) ? "active" : g.status === "revoked" ? "revoked" : "ended")}
      ${nameOr(() => subWallets.get(g.subWalletId)?.name ?? pay.wallets.getSubWallet(g.subWalletId).name, g.subWalletId)}: ${g.scopes.join(", ")}, ${g.mode}${g.expiresAtMs !== undefined
        ? html`, until ${when(v, g.expiresAtMs, tzOf(g))}` : null}${g.maxUses !== undefined ? `, ${g.uses} of ${g.maxUses} uses` : ""}${g.revokedAtMs !== undefined
        ? html`, revoked ${when(v, g.revokedAtMs, tzOf(g))}` : null}
    </li>`)}</ul>`}
    <div class="actions">
      <a class="button secondary" href=${`${v.base}/payments?agentId=${a.id}`}>Payments</a>
    </div>
    ${live.length > 0 ? html`<details class="kill">
      <summary>Stop this agent</summary>
      <p>Revokes its ${String(live.length)} active grant${live.length === 1 ? "" : "s"} on your sub-wallets now: its very next request is refused.
        To let it pay again, grant it again.</p>
      <form method="post" action=${act} hx-post=${act} hx-target=${`#${a.id}`} hx-swap="outerHTML" hx-disable="find button">
        ${csrfField(v)}
        <button type="submit" class="danger" aria-describedby=${`${a.id}-name`}>Revoke all its grants</button>
      </form>
    </details>` : null}
  </article>`;
}

export function agentsPage(v: View, pay: AgentPay, rows: readonly AgentRow[], subWallets: ReadonlyMap<string, SubWallet>): Node {
  if (rows.length === 0) return html`<p class="empty">No agent acts on your sub-wallets.</p>`;
  return html`<div class="grid">${rows.map((r) => agentCard(v, pay, r, subWallets))}</div>`;
}
