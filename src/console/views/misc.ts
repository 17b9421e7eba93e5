// The sign-in form, the operator's person picker, and error pages.
import { html } from "../html.ts";
import type { Node } from "../html.ts";
import type { View } from "./layout.ts";

export type SignInMessage = "expired" | "signed-out" | "bad-key" | "not-for-console" | "form-expired" | "too-many";

const MESSAGES: Record<SignInMessage, [string, string]> = {
  "expired": ["warn", "Your session ended (it expired, or you signed in elsewhere with a key since revoked). Sign in again."],
  "signed-out": ["ok", "You are signed out."],
  "bad-key": ["bad", "That key was not accepted: it is unknown, revoked or expired."],
  "not-for-console": ["bad", "That is a merchant key: the console is for persons and the operator."],
  "form-expired": ["warn", "The sign-in form had expired. Please try again."],
  "too-many": ["bad", "Too many failed attempts from here. Wait a minute and try again."],
};

export function signInPage(v: View, opts: { formToken: string; message?: SignInMessage; next?: string }): Node {
  const m = opts.message ? MESSAGES[opts.message] : undefined;
  return html`<div class="signin card">
    ${m ? html`<p class=${`notice ${m[0]}`} role=${m[0] === "bad" ? "alert" : "status"}>${m[1]}</p>` : null}
    <p>Sign in with your person API key (it starts with <code>apk_p_</code>) or an operator key. The key stays on the server:
      your browser keeps only a session cookie.</p>
    <form method="post" action=${`${v.base}/sign-in`}>
      <input type="hidden" name="_csrf" value=${opts.formToken} />
      ${opts.next ? html`<input type="hidden" name="next" value=${opts.next} />` : null}
      <label for="key">API key</label>
      <input type="password" id="key" name="key" required autocomplete="current-password" spellcheck="false" autocapitalize="off"
             aria-invalid=${opts.message === "bad-key" || opts.message === "not-for-console" ? "true" : undefined} />
      <div class="actions"><button type="submit">Sign in</button></div>
    </form>
  </div>`;
}

export function ownerPicker(v: View, action: string, owner: string | undefined): Node {
  return html`<form class="filters" method="get" action=${action} aria-label="Choose a person">
    <div><label for="owner">Person (owner id)</label>
      <input type="text" id="owner" name="owner" value=${owner ?? ""} autocomplete="off" spellcheck="false" /></div>
    <div><button type="submit">Show</button></div>
  </form>`;
}

export function problem(message: string, kind: "bad" | "warn" = "bad"): Node {
  return html`<p class=${`notice ${kind}`} role="alert">${message}</p>`;
}
