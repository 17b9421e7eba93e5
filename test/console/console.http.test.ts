// The console over HTTP without a browser: sessions (bounded, expiring, ended by revoking the key),
// cookies under TLS, sign-in's own CSRF check and attempt limit, security headers, assets served
// by the server itself, and turning the console off.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { AgentPay, ManualClock } from "../../src/index.ts";
import { createApp } from "../../src/http/index.ts";
import type { AppOptions } from "../../src/http/index.ts";
import { SessionStore } from "../../src/console/index.ts";

function cookiesOf(res: Response): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const i = pair!.indexOf("=");
    out.set(pair!.slice(0, i), pair!.slice(i + 1));
  }
  return out;
}

async function setup(opts: AppOptions = {}, base = "http://console.test") {
  const pay = await AgentPay.open({ memory: true, background: false, delivery: false });
  const app = createApp(pay, opts);
  const person = await pay.apiKeys.create({ kind: "person", ownerId: "alice" });
  /** GET the sign-in form, then post `key` with its token: the response. */
  async function signIn(key: string, over: { token?: string; cookie?: string; origin?: string } = {}) {
    const form = await app.request(`${base}/console/sign-in`);
    const html = await form.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
    const pre = [...cookiesOf(form)].map(([k, v]) => `${k}=${v}`).join("; ");
    return app.request(`${base}/console/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: over.cookie ?? pre, origin: over.origin ?? base },
      body: new URLSearchParams({ _csrf: over.token ?? token, key }).toString(),
    });
  }
  return { pay, app, person, signIn, base };
}

describe("console (http)", () => {
  it("signs in: a session cookie (HttpOnly, SameSite=Strict) with a random id, never the key; revoking the key ends the session", async () => {
    const { pay, app, person, signIn, base } = await setup();
    try {
      const res = await signIn(person.secret);
      expect(res.status).to.equal(303);
      expect(res.headers.get("location")).to.equal("/console/approvals");
      const raw = res.headers.getSetCookie().find((c) => c.startsWith("agentpay_console="))!;
      expect(raw).to.match(/HttpOnly/).and.match(/SameSite=Strict/).and.match(/Path=\/console/);
      expect(raw).to.not.match(/Secure/);
      const id = cookiesOf(res).get("agentpay_console")!;
      expect(id).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(raw).to.not.contain(person.secret);
      const page = await app.request(`${base}/console/approvals`, { headers: { cookie: `agentpay_console=${id}` } });
      expect(page.status).to.equal(200);
      await pay.apiKeys.revoke(person.apiKey.id);
      const after = await app.request(`${base}/console/approvals`, { headers: { cookie: `agentpay_console=${id}` } });
      expect(after.status).to.equal(303);
      expect(after.headers.get("location")).to.match(/sign-in\?expired=1/);
    } finally {
      await pay.close();
    }
  });

  it("under TLS the cookies are __Host- and Secure (publicUrl https)", async () => {
    const { pay, person, signIn } = await setup({ publicUrl: "https://pay.example" }, "https://pay.example");
    try {
      const res = await signIn(person.secret);
      expect(res.status).to.equal(303);
      const raw = res.headers.getSetCookie().find((c) => c.startsWith("__Host-agentpay_console="))!;
      expect(raw).to.match(/Secure/).and.match(/HttpOnly/).and.match(/SameSite=Strict/).and.match(/Path=\//);
    } finally {
      await pay.close();
    }
  });

  it("sign-in has its own CSRF check (form token + cookie, same origin) and a limit on failed attempts", async () => {
    const { pay, person, signIn } = await setup({ console: { maxSignInFailuresPerMinute: 3 } });
    try {
      expect((await signIn(person.secret, { token: "x".repeat(43) })).status).to.equal(403);
      expect((await signIn(person.secret, { cookie: "" })).status).to.equal(403);
      expect((await signIn(person.secret, { origin: "http://evil.test" })).status).to.equal(403);
      for (let i = 0; i < 3; i++) expect((await signIn("apk_p_wrong-wrong-wrong-wrong-wrong-wrong-wrong-wr")).status).to.equal(401);
      expect((await signIn(person.secret)).status).to.equal(429);
    } finally {
      await pay.close();
    }
  });

  it("pages carry a strict CSP and no outside URL; assets (htmx from the htmx.org package) are served here, cacheable", async () => {
    const { pay, app, person, signIn, base } = await setup();
    try {
      const id = cookiesOf(await signIn(person.secret)).get("agentpay_console")!;
      for (const path of ["sign-in", "approvals", "sub-wallets", "payments", "agents", "notifications"]) {
        const res = await app.request(`${base}/console/${path}`, { headers: path === "sign-in" ? {} : { cookie: `agentpay_console=${id}` } });
        expect(res.status, path).to.equal(200);
        expect(res.headers.get("content-security-policy")).to.contain("script-src 'self'").and.contain("frame-ancestors 'none'");
        const html = await res.text();
        expect(html.match(/(?:src|href)="(?:https?:)?\/\/[^"]*"/g) ?? [], path).to.deep.equal([]);
      }
      const page = await (await app.request(`${base}/console/approvals`, { headers: { cookie: `agentpay_console=${id}` } })).text();
      const htmxUrl = /src="(\/console\/assets\/htmx\.min\.js\?v=[^"]+)"/.exec(page)![1]!;
      const res = await app.request(`${base}${htmxUrl.replace(/&amp;/g, "&")}`);
      expect(res.status).to.equal(200);
      expect(res.headers.get("cache-control")).to.contain("immutable");
      const shipped = readFileSync(createRequire(import.meta.url).resolve("htmx.org/dist/htmx.min.js"), "utf8");
      expect(await res.text()).to.equal(shipped);
    } finally {
      await pay.close();
    }
  });

  it("console: false leaves it out", async () => {
    const { pay, app, base } = await setup({ console: false });
    try {
      const res = await app.request(`${base}/console/sign-in`);
      expect(res.status).to.equal(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).to.equal("NOT_FOUND");
    } finally {
      await pay.close();
    }
  });
});

describe("console sessions", () => {
  const person = { kind: "person", ownerId: "alice", keyId: "key_1" } as const;

  it("end after the idle time and after the absolute lifetime", () => {
    const clock = new ManualClock(1_000_000);
    const s = new SessionStore(clock, { idleMs: 1_000, maxAgeMs: 5_000 });
    const { id } = s.create(person);
    clock.advance(999);
    expect(s.get(id)).to.not.equal(undefined);
    clock.advance(1_000);
    expect(s.get(id)).to.equal(undefined);
    const b = s.create(person);
    for (let i = 0; i < 5; i++) {
      clock.advance(900);
      expect(s.get(b.id)).to.not.equal(undefined);
    }
    clock.advance(600);
    expect(s.get(b.id)).to.equal(undefined);
    expect(s.size).to.equal(0);
  });

  it("are bounded, in all and per person (the least recently used go first)", () => {
    const clock = new ManualClock(0);
    const s = new SessionStore(clock, { maxSessions: 3, maxPerPrincipal: 2 });
    const a1 = s.create(person);
    const a2 = s.create(person);
    s.get(a1.id); // a1 is now the most recent
    const a3 = s.create(person);
    expect(s.get(a2.id)).to.equal(undefined);
    expect(s.get(a1.id)).to.not.equal(undefined);
    const others = [1, 2, 3].map((n) => s.create({ kind: "person", ownerId: `p${n}`, keyId: `key_${n}` }));
    expect(s.size).to.equal(3);
    expect(s.get(a1.id)).to.equal(undefined);
    expect(s.get(a3.id)).to.equal(undefined);
    expect(others.every((o) => s.get(o.id) !== undefined)).to.equal(true);
  });

  it("know nothing of ids they did not issue, and forget destroyed ones", () => {
    const s = new SessionStore(new ManualClock(0));
    const { id } = s.create(person);
    for (const bad of [undefined, "", "x", id.slice(1), `${id}x`, id.toUpperCase() === id ? id.toLowerCase() : id.toUpperCase()]) expect(s.get(bad)).to.equal(undefined);
    s.destroy(id);
    expect(s.get(id)).to.equal(undefined);
  });
});
