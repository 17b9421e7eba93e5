// The person's console: server-rendered pages (hono/jsx via htm, htmx, plain CSS) on the public
// library only. Sign-in with a person or operator API key gives a session cookie (HttpOnly,
// SameSite=Strict, Secure under TLS) naming a server-side session; every state change needs the
// session's CSRF token and a same-origin request. Pending approvals arrive live over Server-Sent
// Events. Mounted by the HTTP API under /console (createApp), or on its own.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { getConnInfo } from "@hono/node-server/conninfo";
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { streamSSE } from "hono/streaming";
import { isAgentPayError } from "../index.ts";
import type { AgentPay, ApprovalRequest, Clock, Payment, SubWallet } from "../index.ts";
import { loadAssets } from "./assets/index.ts";
import { localeOf } from "./format.ts";
import { html } from "./html.ts";
import type { Node } from "./html.ts";
import { ConsoleLive } from "./live.ts";
import type { Signal } from "./live.ts";
import {
  NotVisible, agentFor, approvalFor, mayActFor, ownerParam, ownerScope, paymentFor, subWalletFor, subWalletsOf,
} from "./scope.ts";
import { SessionStore, tokenMatches } from "./sessions.ts";
import type { ConsolePrincipal, Session, SessionOptions } from "./sessions.ts";
import { agentCard, agentsPage, grantUsable } from "./views/agents.ts";
import type { AgentRow } from "./views/agents.ts";
import { approvalFacts, approvalsList, approvalsPage, decisionNotice } from "./views/approvals.ts";
import type { DecisionOutcome } from "./views/approvals.ts";
import { page, pendingCount } from "./views/layout.ts";
import type { Section, View } from "./views/layout.ts";
import { ownerPicker, problem, signInPage } from "./views/misc.ts";
import type { SignInMessage } from "./views/misc.ts";
import { notificationsList, notificationsPage } from "./views/notifications.ts";
import { STATUS_FILTERS, paymentsPage, paymentsTable, shownStatus, storyPage } from "./views/payments.ts";
import type { PaymentFilter, StatusFilter } from "./views/payments.ts";
import { subWalletCard, subWalletsPage, walletSection } from "./views/sub-wallets.ts";

/** Where createApp mounts the console. */
export const CONSOLE_PATH = "/console";

export interface ConsoleOptions extends SessionOptions {
  /** Operator secrets accepted at sign-in besides stored operator keys (e.g. AGENTPAY_OPERATOR_KEY). */
  operatorKeys?: readonly string[];
  /** The public base URL (behind a proxy): its origin is accepted on state changes, and https makes cookies Secure. */
  publicUrl?: string;
  /** Force Secure cookies on or off; default: on when the request or publicUrl is https. */
  secureCookies?: boolean;
  /** The sessions' clock; default the AgentPay's. */
  clock?: Clock;
  /** Failed sign-ins per client address per minute before it must wait. Default 20. */
  maxSignInFailuresPerMinute?: number;
  /** Seconds between the live feed's keep-alives (and session checks). Default 15. */
  heartbeatS?: number;
}

interface ConsoleEnv {
  Variables: {
    requestId?: string;
    consoleSession: Session;
    consoleSessionId: string;
  };
}

export interface ConsoleApp {
  readonly app: Hono<ConsoleEnv>;
  /** Live sessions (for tests and metrics). */
  readonly sessions: SessionStore;
  /** Stops the live feed. */
  close(): void;
}

const COOKIE = "agentpay_console";
const PRE_COOKIE = "agentpay_console_signin";
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
const ID_RE = /^[a-z]{2,4}_[0-9A-Za-z]{1,64}$/;
const MAX_NOTE = 500;
const MAX_FAILURE_ADDRESSES = 10_000;
const PAGE_SIZE = 50;
const SCAN_LIMIT = 1_000;
const MAX_AGENTS_SHOWN = 200;

const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
].join("; ");

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

export function createConsole(pay: AgentPay, options: ConsoleOptions = {}): ConsoleApp {
  const base = CONSOLE_PATH;
  const assets = loadAssets(base);
  const clock = options.clock ?? pay.clock;
  const sessions = new SessionStore(clock, options);
  const live = new ConsoleLive(pay);
  const operatorDigests = (options.operatorKeys ?? []).map(digest);
  const publicOrigin = options.publicUrl ? new URL(options.publicUrl).origin : undefined;
  const heartbeatMs = Math.max(1, options.heartbeatS ?? 15) * 1000;
  const maxFailures = options.maxSignInFailuresPerMinute ?? 20;
  const failures = new Map<string, { count: number; sinceMs: number }>();
  const app = new Hono<ConsoleEnv>();

  // --- helpers -------------------------------------------------------------------------------

  const secure = (c: Context): boolean => options.secureCookies
    ?? (options.publicUrl?.startsWith("https:") || new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https");
  const cookieOpts = (c: Context, maxAgeS: number) => secure(c)
    ? { path: "/", secure: true, httpOnly: true, sameSite: "Strict" as const, maxAge: maxAgeS, prefix: "host" as const }
    : { path: base, httpOnly: true, sameSite: "Strict" as const, maxAge: maxAgeS };
  const readCookie = (c: Context, name: string): string | undefined => secure(c) ? getCookie(c, name, "host") : getCookie(c, name);
  const clearCookie = (c: Context, name: string): void => {
    if (secure(c)) deleteCookie(c, name, { path: "/", secure: true, prefix: "host" });
    else deleteCookie(c, name, { path: base });
  };
  const isHtmx = (c: Context): boolean => c.req.header("hx-request") === "true";

  const view = (c: Context, s?: Session): View => ({
    base, assets, locale: localeOf(c.req.header("accept-language")), currencies: pay.currencies, nowMs: pay.clock.nowMs(),
    ...(s ? { principal: s.principal, csrfToken: s.csrfToken } : {}),
  });

  /** The API key behind a session still works (revoking a key ends its sessions at once). */
  const keyStillValid = (p: ConsolePrincipal): boolean => {
    if (p.kind === "operator" && p.keyId === "env") return true;
    try {
      const k = pay.apiKeys.get(p.keyId);
      const now = pay.clock.nowMs();
      return k.revokedAtMs === undefined && (k.expiresAtMs === undefined || k.expiresAtMs > now);
    } catch {
      return false;
    }
  };

  const currentSession = (c: Context): { id: string; session: Session } | undefined => {
    const id = readCookie(c, COOKIE);
    const session = id ? sessions.get(id) : undefined;
    if (!id || !session) return undefined;
    if (!keyStillValid(session.principal)) {
      sessions.destroy(id);
      return undefined;
    }
    return { id, session };
  };

  const pendingOf = (p: ConsolePrincipal, owner?: string): ApprovalRequest[] =>
    pay.approvals.listPending(p.kind === "person" ? { ownerId: p.ownerId } : owner !== undefined ? { ownerId: owner } : {});

  const render = (c: Context<ConsoleEnv>, title: string, section: Section | undefined, children: unknown, status = 200): Response => {
    const s = c.get("consoleSession");
    const v = view(c, s);
    return c.html(page(v, { title, ...(section ? { section } : {}), pendingCount: s ? pendingOf(s.principal).length : 0, children }), status as 200);
  };

  const fragment = (c: Context, node: Node, status = 200): Response => c.html(node.toString() as string, status as 200);

  const sameOrigin = (c: Context): boolean => {
    const origin = c.req.header("origin");
    if (origin !== undefined) return origin === new URL(c.req.url).origin || origin === publicOrigin;
    const site = c.req.header("sec-fetch-site");
    return site === undefined || site === "same-origin" || site === "none";
  };

  const clientAddress = (c: Context): string => {
    try {
      return getConnInfo(c).remote.address ?? "?";
    } catch {
      return "?"; // app.request() in tests has no socket
    }
  };

  const safeNext = (next: unknown): string | undefined =>
    typeof next === "string" && next.startsWith(`${base}/`) && !next.startsWith(`${base}//`) && next.length <= 512 && !/[\\\s]/.test(next) ? next : undefined;

  // --- every response: security headers ------------------------------------------------------

  app.use("*", async (c, next) => {
    await next();
    c.res.headers.set("Content-Security-Policy", CSP);
    c.res.headers.set("X-Frame-Options", "DENY");
    c.res.headers.set("Referrer-Policy", "same-origin");
    c.res.headers.set("Cross-Origin-Opener-Policy", "same-origin");
    c.res.headers.set("X-Content-Type-Options", "nosniff");
    if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
  });

  // --- public: assets and sign-in --------------------------------------------------------------

  app.get("/assets/:name", (c) => {
    const a = assets.files.get(c.req.param("name"));
    if (!a) return c.text("not found", 404);
    const versioned = c.req.query("v") === a.etag.slice(1, -1);
    c.header("Cache-Control", versioned ? "public, max-age=31536000, immutable" : "no-cache");
    c.header("ETag", a.etag);
    if (c.req.header("if-none-match") === a.etag) return c.body(null, 304);
    return c.body(a.body, 200, { "Content-Type": a.type });
  });

  const signInForm = (c: Context<ConsoleEnv>, message: SignInMessage | undefined, status: number, next?: string): Response => {
    let token = readCookie(c, PRE_COOKIE);
    if (!token || !TOKEN_RE.test(token) || message === "form-expired") {
      token = randomBytes(32).toString("base64url");
      setCookie(c, PRE_COOKIE, token, cookieOpts(c, 3600));
    }
    const v = view(c);
    return c.html(page(v, { title: "Sign in", children: signInPage(v, { formToken: token, ...(message ? { message } : {}), ...(next ? { next } : {}) }) }), status as 200);
  };

  app.get("/sign-in", (c) => {
    if (currentSession(c)) return c.redirect(`${base}/approvals`, 303);
    const q = c.req.query();
    const message: SignInMessage | undefined = q.expired !== undefined ? "expired" : q["signed-out"] !== undefined ? "signed-out" : undefined;
    return signInForm(c, message, 200, safeNext(q.next));
  });

  app.post("/sign-in", async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(form.next);
    const pre = readCookie(c, PRE_COOKIE);
    if (!sameOrigin(c) || !pre || !tokenMatches(form._csrf, pre)) return signInForm(c, "form-expired", 403, next);
    const addr = clientAddress(c);
    const now = clock.nowMs();
    const f = failures.get(addr);
    if (f && now - f.sinceMs < 60_000 && f.count >= maxFailures) return signInForm(c, "too-many", 429, next);
    const secret = typeof form.key === "string" ? form.key.trim() : "";
    let principal: ConsolePrincipal | "merchant" | undefined;
    if (secret.length >= 8 && secret.length <= 200) {
      const d = digest(secret);
      if (operatorDigests.some((o) => timingSafeEqual(o, d))) principal = { kind: "operator", keyId: "env" };
      else {
        const k = pay.apiKeys.authenticate(secret);
        if (k?.kind === "person") principal = { kind: "person", ownerId: k.ownerId, keyId: k.keyId };
        else if (k?.kind === "operator") principal = { kind: "operator", keyId: k.keyId };
        else if (k?.kind === "merchant") principal = "merchant";
      }
    }
    if (principal === undefined || principal === "merchant") {
      const cur = f && now - f.sinceMs < 60_000 ? f : { count: 0, sinceMs: now };
      cur.count++;
      failures.delete(addr);
      failures.set(addr, cur);
      if (failures.size > MAX_FAILURE_ADDRESSES) failures.delete(failures.keys().next().value!);
      return signInForm(c, principal === "merchant" ? "not-for-console" : "bad-key", 401, next);
    }
    failures.delete(addr);
    sessions.destroy(readCookie(c, COOKIE)); // a sign-in always starts a fresh session (no fixation)
    sessions.sweep();
    const created = sessions.create(principal);
    setCookie(c, COOKIE, created.id, cookieOpts(c, Math.ceil(sessions.maxAgeMs / 1000)));
    clearCookie(c, PRE_COOKIE);
    return c.redirect(next ?? `${base}/approvals`, 303);
  });

  // --- everything else needs a session; state changes need its CSRF token ----------------------

  const requireSession: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    const found = currentSession(c);
    if (!found) {
      const hadCookie = readCookie(c, COOKIE) !== undefined;
      const to = `${base}/sign-in${hadCookie ? "?expired=1" : ""}`;
      if (hadCookie) clearCookie(c, COOKIE);
      if (isHtmx(c)) {
        c.header("HX-Redirect", to);
        return c.body(null, 401);
      }
      if (c.req.method === "GET" && !c.req.path.endsWith("/events") && !c.req.path.endsWith("/session")) {
        const path = new URL(c.req.url).pathname;
        const nextParam = path !== `${base}/approvals` && safeNext(path) ? `${hadCookie ? "&" : "?"}next=${encodeURIComponent(path)}` : "";
        return c.redirect(`${to}${nextParam}`, 303);
      }
      if (c.req.method === "GET") return c.text("sign in first", 401);
      return render(c, "Refused", undefined, html`${problem("Refused: you are not signed in to the console, so nothing was changed.")}
        <p><a href=${`${base}/sign-in`}>Sign in</a></p>`, 403);
    }
    c.set("consoleSession", found.session);
    c.set("consoleSessionId", found.id);
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      let sent = c.req.header("x-csrf-token");
      if (sent === undefined) {
        const type = c.req.header("content-type") ?? "";
        if (/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) sent = (await c.req.parseBody())._csrf as string | undefined;
      }
      if (!sameOrigin(c) || !tokenMatches(sent, found.session.csrfToken)) {
        const msg = "Refused: this request did not come from your console page (its CSRF token is missing or wrong). Nothing was changed.";
        return isHtmx(c) ? fragment(c, problem(msg), 403) : render(c, "Refused", undefined, problem(msg), 403);
      }
    }
    await next();
  };

  app.use("*", async (c, next) => {
    const path = c.req.path;
    if (path === base || path === `${base}/` || path.startsWith(`${base}/assets/`) || path === `${base}/sign-in`) return next();
    return requireSession(c, next);
  });

  app.get("/", (c) => c.redirect(`${base}/${currentSession(c) ? "approvals" : "sign-in"}`, 303));

  app.post("/sign-out", (c) => {
    sessions.destroy(c.get("consoleSessionId"));
    clearCookie(c, COOKIE);
    return c.redirect(`${base}/sign-in?signed-out=1`, 303);
  });

  app.get("/session", (c) => c.body(null, 204));

  // --- the live feed ---------------------------------------------------------------------------

  app.get("/events", (c) => {
    const id = c.get("consoleSessionId");
    const s = c.get("consoleSession");
    const owner = s.principal.kind === "person" ? s.principal.ownerId : undefined;
    const pending: Array<Signal["kind"]> = [];
    let wake: (() => void) | undefined;
    const stop = live.listen(owner, (sig) => {
      if (!pending.includes(sig.kind)) pending.push(sig.kind); // coalesced: at most one of each kind waits
      wake?.();
    });
    if (!stop) return c.text("too many live pages open; reload later", 503);
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => wake?.());
      try {
        await stream.writeSSE({ event: "ready", data: "{}" });
        while (!stream.aborted && !stream.closed) {
          const kind = pending.shift();
          if (kind) {
            await stream.writeSSE({ event: kind, data: "{}" });
            continue;
          }
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, heartbeatMs);
            wake = () => { clearTimeout(t); wake = undefined; resolve(); };
          });
          if (!sessions.alive(id, s) || !keyStillValid(s.principal)) {
            await stream.writeSSE({ event: "signed-out", data: "{}" });
            break;
          }
          if (pending.length === 0 && !stream.aborted) await stream.write(": keep-alive\n\n");
        }
      } finally {
        stop();
      }
    });
  });

  // --- approvals -------------------------------------------------------------------------------

  app.get("/approvals", (c) => {
    const s = c.get("consoleSession");
    const v = view(c, s);
    return render(c, "Approvals", "approvals", approvalsPage(v, pay, pendingOf(s.principal)));
  });

  app.get("/approvals/list", (c) => {
    const s = c.get("consoleSession");
    return fragment(c, approvalsList(view(c, s), pay, pendingOf(s.principal)));
  });

  app.get("/approvals/count", (c) => {
    const n = pendingOf(c.get("consoleSession").principal).length;
    const node = pendingCount(n);
    return c.html(node ? node.toString() as string : "");
  });

  app.post("/approvals/:approvalId/decide", async (c) => {
    const s = c.get("consoleSession");
    const p = s.principal;
    const v = view(c, s);
    const a = approvalFor(pay, p, c.req.param("approvalId"));
    const form = await c.req.parseBody();
    const decision = form.decision;
    const rawNote = typeof form.note === "string" ? form.note.trim() : "";
    if ((decision !== "approve" && decision !== "deny") || rawNote.length > MAX_NOTE) {
      const msg = rawNote.length > MAX_NOTE ? `The note is longer than ${MAX_NOTE} characters.` : "Choose Approve or Deny.";
      return isHtmx(c) ? fragment(c, problem(msg), 400) : render(c, "Approvals", "approvals", html`${problem(msg)}${approvalsPage(v, pay, pendingOf(p))}`, 400);
    }
    const facts = approvalFacts(pay, a);
    const by = p.kind === "person" ? `person:${p.ownerId} (console)` : "operator (console)";
    const opts = { by, ...(rawNote ? { note: rawNote } : {}) };
    let outcome: DecisionOutcome;
    let status = 200;
    try {
      if (decision === "approve") await pay.approvals.approve(a.id, opts);
      else await pay.approvals.deny(a.id, opts);
      outcome = { kind: decision === "approve" ? "approved" : "denied", facts };
    } catch (e) {
      if (!isAgentPayError(e)) throw e;
      status = e.code === "APPROVAL_ALREADY_RESOLVED" || e.code === "APPROVAL_EXPIRED" ? 409 : 422;
      if (e.code === "APPROVAL_ALREADY_RESOLVED") {
        const now = pay.approvals.get(a.id);
        outcome = {
          kind: "already", facts, status: now.status,
          ...(now.resolvedBy !== undefined ? { by: now.resolvedBy } : {}), ...(now.resolvedAtMs !== undefined ? { atMs: now.resolvedAtMs } : {}),
        };
      } else if (e.code === "APPROVAL_EXPIRED") {
        outcome = { kind: "expired", facts };
      } else {
        outcome = { kind: "failed", facts, code: e.code, message: e.message };
      }
    }
    const notice = decisionNotice(v, outcome);
    if (isHtmx(c)) {
      c.header("HX-Trigger", "approvals-changed");
      return fragment(c, notice, status);
    }
    return render(c, "Approvals", "approvals", approvalsPage(v, pay, pendingOf(p), notice), status);
  });

  // --- sub-wallets -----------------------------------------------------------------------------

  app.get("/sub-wallets", (c) => {
    const s = c.get("consoleSession");
    const v = view(c, s);
    const asked = c.req.query("owner");
    const owner = ownerScope(s.principal, asked);
    const picker = s.principal.kind === "operator" ? ownerPicker(v, `${base}/sub-wallets`, owner) : null;
    if (owner === undefined) return render(c, "Sub-wallets", "sub-wallets", html`${picker}<p>Choose a person to see their wallets.</p>`);
    return render(c, "Sub-wallets", "sub-wallets", html`${picker}${subWalletsPage(v, pay, subWalletsOf(pay, owner))}`);
  });

  app.get("/sub-wallets/wallet/:walletId", (c) => {
    const s = c.get("consoleSession");
    const id = c.req.param("walletId");
    const w = (() => {
      try {
        return pay.wallets.get(id);
      } catch {
        throw new NotVisible("wallet");
      }
    })();
    if (!mayActFor(s.principal, w.ownerId)) throw new NotVisible("wallet");
    const bal = pay.wallets.balance(w.id);
    return fragment(c, walletSection(view(c, s), pay, w, pay.wallets.listSubWallets(w.id), bal.availableMinor));
  });

  for (const action of ["freeze", "unfreeze"] as const) {
    app.post(`/sub-wallets/:subWalletId/${action}`, async (c) => {
      const s = c.get("consoleSession");
      const sw = subWalletFor(pay, s.principal, c.req.param("subWalletId"));
      let updated: SubWallet;
      let failure: Node | undefined;
      try {
        updated = action === "freeze" ? await pay.wallets.freeze(sw.id) : await pay.wallets.unfreeze(sw.id);
      } catch (e) {
        if (!isAgentPayError(e)) throw e;
        updated = pay.wallets.getSubWallet(sw.id);
        failure = problem(`Could not ${action} it: ${e.message}`);
      }
      if (isHtmx(c)) {
        const card = subWalletCard(view(c, s), pay, updated);
        return fragment(c, failure ? html`${card}${failure}` : card, failure ? 409 : 200);
      }
      return c.redirect(`${base}/sub-wallets${s.principal.kind === "operator" ? `?owner=${encodeURIComponent(sw.ownerId)}` : ""}#${sw.id}`, 303);
    });
  }

  // --- payments --------------------------------------------------------------------------------

  const paymentQuery = (c: Context<ConsoleEnv>): { filter: PaymentFilter; after: string | undefined; owner: string | undefined } => {
    const s = c.get("consoleSession");
    const q = c.req.query();
    const owner = ownerScope(s.principal, q.owner);
    const filter: PaymentFilter = {
      ...(STATUS_FILTERS.includes(q.status as StatusFilter) ? { status: q.status as StatusFilter } : {}),
      ...(q.subWalletId && ID_RE.test(q.subWalletId) ? { subWalletId: q.subWalletId } : {}),
      ...(q.agentId && ID_RE.test(q.agentId) ? { agentId: q.agentId } : {}),
      ...(owner !== undefined ? { ownerId: owner } : {}),
    };
    return { filter, after: q.after && ID_RE.test(q.after) ? q.after : undefined, owner };
  };

  /** A page of the payments the filter selects, newest first, and the cursor of the next page. */
  const selectPayments = (p: ConsolePrincipal, f: PaymentFilter, after: string | undefined): { rows: Payment[]; next?: string } => {
    if (f.subWalletId) subWalletFor(pay, p, f.subWalletId);
    const q = {
      ...(f.subWalletId ? { subWalletId: f.subWalletId } : {}), ...(f.agentId ? { agentId: f.agentId } : {}),
      ...(f.ownerId !== undefined ? { ownerId: f.ownerId } : {}),
    };
    if (Object.keys(q).length === 0) return { rows: [] };
    let scanned: Payment[];
    try {
      scanned = pay.payments.list({ ...q, limit: SCAN_LIMIT, ...(after ? { startingAfter: after } : {}) });
    } catch (e) {
      if (isAgentPayError(e)) return { rows: [] };
      throw e;
    }
    const rows: Payment[] = [];
    let last: string | undefined;
    for (const pm of scanned) {
      last = pm.id;
      if (!mayActFor(p, pm.ownerId)) continue;
      if (f.status && shownStatus(pm) !== f.status && !(f.status === "captured" && pm.status === "captured")) continue;
      rows.push(pm);
      if (rows.length === PAGE_SIZE) break;
    }
    const more = rows.length === PAGE_SIZE || scanned.length === SCAN_LIMIT;
    return { rows, ...(more && last ? { next: last } : {}) };
  };

  app.get("/payments", (c) => {
    const s = c.get("consoleSession");
    const v = view(c, s);
    const { filter, after, owner } = paymentQuery(c);
    const picker = s.principal.kind === "operator" ? ownerPicker(v, `${base}/payments`, owner) : undefined;
    const groups = owner !== undefined ? subWalletsOf(pay, owner) : [];
    const subWallets = groups.flatMap((g) => g.subWallets);
    const agents = agentRows(s.principal, owner).map((r) => ({ id: r.agent.id, name: r.agent.name }));
    const { rows, next } = selectPayments(s.principal, filter, after);
    return render(c, "Payments", "payments", paymentsPage(v, pay, {
      filter, subWallets, agents, table: paymentsTable(v, pay, rows, filter, next), ...(picker ? { ownerPicker: picker } : {}),
    }));
  });

  app.get("/payments/table", (c) => {
    const s = c.get("consoleSession");
    const { filter, after } = paymentQuery(c);
    const { rows, next } = selectPayments(s.principal, filter, after);
    return fragment(c, paymentsTable(view(c, s), pay, rows, filter, next));
  });

  app.get("/payments/:paymentId", (c) => {
    const s = c.get("consoleSession");
    const pm = paymentFor(pay, s.principal, c.req.param("paymentId"));
    return render(c, "Payment", "payments", storyPage(view(c, s), pay, live, pm));
  });

  // --- agents and the kill switch ----------------------------------------------------------------

  /** The agents acting on an owner's sub-wallets (or, for the operator without an owner, every agent), with their grants there. */
  function agentRows(p: ConsolePrincipal, owner: string | undefined): AgentRow[] {
    if (owner === undefined) {
      if (p.kind !== "operator") return [];
      return pay.agents.list().slice(0, MAX_AGENTS_SHOWN).map((agent) => ({ agent, grants: pay.grants.list({ agentId: agent.id, limit: 1000 }).reverse() }));
    }
    const byAgent = new Map<string, AgentRow["grants"][number][]>();
    for (const { subWallets } of subWalletsOf(pay, owner)) {
      for (const sw of subWallets) {
        for (const g of pay.grants.list({ subWalletId: sw.id, limit: 1000 })) {
          let list = byAgent.get(g.agentId);
          if (!list) byAgent.set(g.agentId, (list = []));
          list.push(g);
        }
      }
    }
    const rows: AgentRow[] = [];
    for (const [agentId, grants] of byAgent) {
      try {
        rows.push({ agent: pay.agents.get(agentId), grants: grants.sort((x, y) => y.createdAtMs - x.createdAtMs) });
      } catch {
        // an agent record that is gone: nothing to show or stop
      }
    }
    for (const agent of pay.agents.list()) if (agent.ownerId === owner && !byAgent.has(agent.id)) rows.push({ agent, grants: [] });
    return rows.sort((x, y) => x.agent.name.localeCompare(y.agent.name));
  }

  const subWalletMap = (owner: string | undefined): Map<string, SubWallet> =>
    new Map((owner !== undefined ? subWalletsOf(pay, owner) : []).flatMap((g) => g.subWallets.map((sw) => [sw.id, sw] as const)));

  app.get("/agents", (c) => {
    const s = c.get("consoleSession");
    const v = view(c, s);
    const owner = ownerScope(s.principal, c.req.query("owner"));
    const picker = s.principal.kind === "operator" ? ownerPicker(v, `${base}/agents`, owner) : null;
    return render(c, "Agents", "agents", html`${picker}${agentsPage(v, pay, agentRows(s.principal, owner), subWalletMap(owner))}`);
  });

  app.post("/agents/:agentId/revoke", async (c) => {
    const s = c.get("consoleSession");
    const p = s.principal;
    const agent = agentFor(pay, p, c.req.param("agentId"));
    const owner = p.kind === "person" ? p.ownerId : undefined;
    const mine = owner !== undefined ? subWalletMap(owner) : undefined;
    const now = pay.clock.nowMs();
    const targets = pay.grants.list({ agentId: agent.id, limit: 1000 })
      .filter((g) => grantUsable(g, now) && (mine === undefined || mine.has(g.subWalletId)));
    // Each revocation is one engine command: the agent's next request after this answer is refused.
    await Promise.all(targets.map((g) => pay.grants.revoke(g.id)));
    if (!isHtmx(c)) return c.redirect(`${base}/agents#${agent.id}`, 303);
    const rows = agentRows(p, owner).filter((r) => r.agent.id === agent.id);
    const row: AgentRow = rows[0] ?? { agent, grants: pay.grants.list({ agentId: agent.id, limit: 1000 }) };
    const notice = html`<p class="notice ok" role="status">Revoked ${String(targets.length)} grant${targets.length === 1 ? "" : "s"}: ${agent.name}'s next request is refused.</p>`;
    return fragment(c, agentCard(view(c, s), pay, row, mine ?? subWalletMap(undefined), notice));
  });

  // --- notifications ---------------------------------------------------------------------------

  app.get("/notifications", (c) => {
    const s = c.get("consoleSession");
    const owner = ownerScope(s.principal, c.req.query("owner"));
    return render(c, "Notifications", "notifications", notificationsPage(view(c, s), pay, live.notifications(owner)));
  });

  app.get("/notifications/list", (c) => {
    const s = c.get("consoleSession");
    const owner = ownerScope(s.principal, c.req.query("owner"));
    return fragment(c, notificationsList(view(c, s), pay, live.notifications(owner)));
  });

  // --- the rest --------------------------------------------------------------------------------

  const notFound = (c: Context<ConsoleEnv>, what = "page"): Response => {
    const msg = `There is no such ${what} here (or it is not yours).`;
    if (isHtmx(c)) return fragment(c, problem(msg), 404);
    return render(c, "Not found", undefined, html`${problem(msg)}<p><a href=${`${base}/approvals`}>Back to approvals</a></p>`, 404);
  };

  app.all("*", (c) => notFound(c));

  app.onError((err, c) => {
    if (err instanceof NotVisible) return notFound(c, err.what);
    const msg = "Something went wrong on the server; nothing you did was lost. Try again.";
    return isHtmx(c) ? fragment(c, problem(msg), 500) : render(c, "Error", undefined, problem(msg), 500);
  });

  return { app, sessions, close: () => live.close() };
}
