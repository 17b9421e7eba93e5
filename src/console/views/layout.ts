// The page around every console page: skip link, navigation, who is signed in, sign-out, and the
// hooks the browser script needs (CSRF token, live feed URL).
import type { CurrencyRegistry } from "../../index.ts";
import type { Assets } from "../assets/index.ts";
import { formatMoney, formatTime, isoTime } from "../format.ts";
import { html } from "../html.ts";
import type { Node } from "../html.ts";
import type { ConsolePrincipal } from "../sessions.ts";

/** What every view needs to render. */
export interface View {
  readonly base: string;
  readonly assets: Assets;
  readonly locale: string;
  readonly currencies: CurrencyRegistry;
  readonly nowMs: number;
  readonly principal?: ConsolePrincipal;
  readonly csrfToken?: string;
}

export type Section = "approvals" | "sub-wallets" | "payments" | "agents" | "notifications";

const SECTIONS: ReadonlyArray<[Section, string]> = [
  ["approvals", "Approvals"], ["sub-wallets", "Sub-wallets"], ["payments", "Payments"], ["agents", "Agents"], ["notifications", "Notifications"],
];

export function money(v: View, minor: bigint, currency: string): string {
  return formatMoney(minor, currency, v.locale, v.currencies);
}

/** A `<time>` in the wallet's zone. */
export function when(v: View, ms: number, timeZone: string): Node {
  return html`<time datetime=${isoTime(ms)}>${formatTime(ms, timeZone, v.locale)}</time>`;
}

export function csrfField(v: View): Node {
  return html`<input type="hidden" name="_csrf" value=${v.csrfToken ?? ""} />`;
}

export function whoText(p: ConsolePrincipal): string {
  return p.kind === "person" ? p.ownerId : "the operator";
}

export function badge(status: string, text = status.replace(/_/g, " ")): Node {
  return html`<span class=${`badge ${status}`}>${text}</span>`;
}

/** The number in the navigation's badge (with words for screen readers); nothing when zero. */
export function pendingCount(n: number): Node | null {
  return n > 0 ? html`${String(n)}<span class="visually-hidden"> pending</span>` : null;
}

export function page(v: View, opts: { title: string; section?: Section; pendingCount?: number; children: unknown }): string {
  const p = v.principal;
  const signedIn = p !== undefined;
  const doc = html`<html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="htmx-config" content='{"includeIndicatorCSS":false,"history":false}' />
      ${signedIn ? html`<meta name="csrf-token" content=${v.csrfToken ?? ""} />` : null}
      <title>${opts.title} · agentpay console</title>
      <link rel="stylesheet" href=${v.assets.url("console.css")} />
      ${signedIn ? html`<script src=${v.assets.url("htmx.min.js")} defer></script><script src=${v.assets.url("console.js")} defer></script>` : null}
    </head>
    <body data-live=${signedIn ? `${v.base}/events` : undefined} data-session=${signedIn ? `${v.base}/session` : undefined}
          data-sign-in=${`${v.base}/sign-in?expired=1`}>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <p class="brand">agentpay console</p>
        ${signedIn ? html`<nav class="main" aria-label="Console">
          <ul>
            ${SECTIONS.map(([id, label]) => html`<li><a href=${`${v.base}/${id}`} aria-current=${opts.section === id ? "page" : undefined}>${label}${id === "approvals"
              ? html`<span class="count" id="approval-count" hx-get=${`${v.base}/approvals/count`} hx-trigger="approvals-changed from:body"
                  hx-swap="innerHTML">${pendingCount(opts.pendingCount ?? 0)}</span>`
              : null}</a></li>`)}
          </ul>
        </nav>
        <form class="who" method="post" action=${`${v.base}/sign-out`}>
          ${csrfField(v)}
          <span>Signed in as <strong>${whoText(p)}</strong></span>
          <button type="submit">Sign out</button>
        </form>` : null}
      </header>
      <main id="main" tabindex="-1">
        <h1>${opts.title}</h1>
        ${opts.children}
      </main>
    </body>
  </html>`;
  return `<!doctype html>${doc.toString()}`;
}

/** Local time helper for views that have no wallet at hand (UTC). */
export function utc(v: View, ms: number): Node {
  return when(v, ms, "UTC");
}
