// The person's console in a real browser (Debian's chromium via playwright-core) against a real
// server on a real socket, with agents as separate processes that sign their intents and long-poll.
import { expect } from "chai";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ManualClock, amount, buildPayIntent, signIntent } from "../../src/index.ts";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { SHOTS, axe, launch, openLive, runAgent, screenshots, signIn, watchProblems } from "./browser.ts";
import { startCli } from "./cli.ts";
import { startWorld } from "./world.ts";
import type { World } from "./world.ts";
// Code in page.evaluate() runs in the page: its DOM globals, typed loosely here (no DOM lib in this project).
declare const window: any;
declare const document: any;

describe("console (browser)", function () {
  this.timeout(120_000);
  let w: World;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const problems: string[][] = [];

  async function context(): Promise<BrowserContext> {
    const c = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
    c.on("page", (p) => problems.push(watchProblems(p)));
    contexts.push(c);
    return c;
  }

  async function signedIn(key: string): Promise<{ ctx: BrowserContext; page: Page }> {
    const ctx = await context();
    const page = await ctx.newPage();
    await signIn(page, w.url, key);
    return { ctx, page };
  }

  const agentArgs = (over: Record<string, unknown> = {}) => ({
    url: w.url, agentId: w.tripPlanner.id, jwk: w.tripPlanner.jwk, subWalletId: w.alice.travelId, merchantId: w.air,
    value: "120.00", currency: "USD", reference: "order-42", ...over,
  });

  /** An agent asks over HTTP (in this process): the server's answer. */
  async function ask(agent: { id: string; jwk: Record<string, unknown> }, subWalletId: string, merchantId: string, value: string, currency = "USD") {
    const body = buildPayIntent({ subWalletId, merchantId, amount: amount(value, currency) });
    const intent = await signIntent(agent.jwk as never, { agentId: agent.id, body });
    const r = await fetch(`${w.url}/v1/payment-intents`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ intent }) });
    return { http: r.status, body: await r.json() as { status?: string; paymentId?: string; approvalId?: string; token?: string; error?: { code: string } } };
  }

  before(async () => {
    w = await startWorld();
    browser = await launch();
  });

  afterEach(() => {
    const found = problems.flat();
    problems.length = 0;
    expect(found, "script errors or CSP violations in the pages").to.deep.equal([]);
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await w?.close();
  });

  it("signs in with a person key: an HttpOnly, SameSite=Strict session cookie that holds no key; bad and merchant keys are refused", async () => {
    const ctx = await context();
    const page = await ctx.newPage();
    await page.goto(`${w.url}/console/payments`);
    await page.waitForURL(/\/console\/sign-in/);
    await page.getByLabel("API key").fill("apk_p_not-a-real-key-at-all-000000000000000000000");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(await page.getByRole("alert").textContent()).to.contain("not accepted");
    await page.getByLabel("API key").fill(w.merchantKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.getByRole("alert").textContent()).to.contain("merchant key");
    await page.getByLabel("API key").fill(w.alice.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/console\/payments$/); // back where the person wanted to go
    expect(await page.locator("header").textContent()).to.contain("Signed in as alice");
    const cookies = await ctx.cookies();
    const session = cookies.find((c) => c.name === "agentpay_console");
    expect(session, "session cookie").to.not.equal(undefined);
    expect(session!.httpOnly).to.equal(true);
    expect(session!.sameSite).to.equal("Strict");
    expect(session!.secure).to.equal(false); // plain http here; see the TLS test for Secure
    expect(session!.value).to.not.contain(w.alice.key);
    expect(w.alice.key).to.not.contain(session!.value);
    expect(await page.evaluate(() => document.cookie)).to.equal(""); // HttpOnly: no script sees it
    // sign out ends the session on the server: the old cookie no longer works
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/sign-in\?signed-out/);
    const replay = await fetch(`${w.url}/console/approvals`, { headers: { cookie: `agentpay_console=${session!.value}` }, redirect: "manual" });
    expect(replay.status).to.equal(303);
    expect(replay.headers.get("location")).to.contain("/console/sign-in?expired=1");
  });

  it("an agent asks above the threshold: the approval appears without reload; approving resumes exactly that payment and the agent's long-poll gets the token", async () => {
    const { ctx } = await signedIn(w.alice.key);
    const page = await openLive(ctx, w.url);
    await page.evaluate(() => { (window as unknown as { marker: number }).marker = 42; });
    expect(await page.locator("article.approval").count()).to.equal(0);
    const agent = runAgent(agentArgs());
    const asked = await agent.next();
    expect(asked).to.include({ step: "asked", http: 201, status: "pending_approval" });
    const card = page.locator(`article.approval#${asked.approvalId}`);
    await card.waitFor();
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).to.equal(42); // no reload
    const text = (await card.textContent())!;
    for (const s of ["trip-planner", "SkyAir", "Airlines (MCC 4511)", "$120.00", "travel", "left today", "APPROVAL_THRESHOLD", "order-42"]) expect(text).to.contain(s);
    expect(await card.locator("[data-left-ms]").textContent()).to.match(/min|s$/);
    await card.getByLabel("Note (optional)").fill("ok for the Lisbon trip");
    await card.getByRole("button", { name: "Approve" }).click();
    await page.locator("#decision-status .notice.ok").waitFor();
    expect(await page.locator("#decision-status").textContent()).to.contain("Approved");
    const final = await agent.next();
    expect(final).to.include({ step: "final", http: 200, status: "authorized", paymentId: asked.paymentId });
    expect(final.token).to.be.a("string");
    const claims = w.pay.tokens.verify(final.token!, { merchantId: w.air });
    expect(claims.paymentId).to.equal(asked.paymentId);
    expect(claims.amount).to.deep.equal(amount("120.00", "USD"));
    const a = w.pay.approvals.get(asked.approvalId!);
    expect(a).to.include({ status: "approved", note: "ok for the Lisbon trip", resolvedBy: "person:alice (console)" });
    await card.waitFor({ state: "detached" });
    expect(await agent.exited).to.equal(0);
  });

  it("deny: the agent's long-poll receives the denial; nothing moved", async () => {
    const { ctx } = await signedIn(w.alice.key);
    const page = await openLive(ctx, w.url);
    const before = w.pay.wallets.balance(w.alice.travelId);
    const agent = runAgent(agentArgs({ value: "180.00", reference: "order-43" }));
    const asked = await agent.next();
    const card = page.locator(`article.approval#${asked.approvalId}`);
    await card.waitFor();
    await card.getByRole("button", { name: "Deny" }).click();
    await page.locator("#decision-status .notice.ok").waitFor();
    expect(await page.locator("#decision-status").textContent()).to.contain("Denied");
    const final = await agent.next();
    expect(final).to.include({ step: "final", http: 200, status: "denied", paymentId: asked.paymentId });
    expect(final.token).to.equal(undefined);
    expect(w.pay.wallets.balance(w.alice.travelId)).to.deep.equal(before);
  });

  it("two tabs approve the same payment at once: one wins, the other shows \"already decided\"", async () => {
    const { ctx } = await signedIn(w.alice.key);
    const [tab1, tab2] = [await openLive(ctx, w.url), await openLive(ctx, w.url)];
    const agent = runAgent(agentArgs({ value: "150.00", reference: "order-44" }));
    const asked = await agent.next();
    const cards = [tab1, tab2].map((t) => t.locator(`article.approval#${asked.approvalId}`));
    await Promise.all(cards.map((c) => c.waitFor()));
    // Both clicks at the same instant: each tab arms a timer for the same moment (one browser, one clock).
    const at = Date.now() + 400;
    await Promise.all(cards.map((c) => c.getByRole("button", { name: "Approve" }).evaluate((b, at) => {
      setTimeout(() => (b as any).click(), Math.max(0, at - Date.now()));
    }, at)));
    const notices = await Promise.all([tab1, tab2].map(async (t) => {
      await t.locator("#decision-status .notice").waitFor();
      return (await t.locator("#decision-status").textContent())!;
    }));
    expect(notices.filter((n) => n.startsWith("Approved"))).to.have.length(1);
    const loser = notices.find((n) => n.startsWith("Already decided"));
    expect(loser, notices.join(" | ")).to.contain("already approved by person:alice (console)");
    const final = await agent.next();
    expect(final).to.include({ status: "authorized" });
    expect(final.token).to.be.a("string");
    expect(w.pay.payments.get(asked.paymentId!).status).to.equal("authorized");
  });

  it("freeze: the agent's very next payment is refused; unfreeze lets it pay again", async () => {
    const { page } = await signedIn(w.alice.key);
    await page.goto(`${w.url}/console/sub-wallets`);
    const card = page.locator(`article#${w.alice.groceriesId}`);
    expect(await ask(w.shopper, w.alice.groceriesId, w.grocer, "5.00")).to.deep.include({ http: 201 });
    await card.getByRole("button", { name: "Freeze" }).click();
    await card.locator(".badge.frozen").waitFor();
    const refused = await ask(w.shopper, w.alice.groceriesId, w.grocer, "5.00");
    expect(refused.http).to.be.within(400, 499);
    expect(refused.body.error?.code).to.equal("SUBWALLET_FROZEN");
    await page.locator(`article#${w.alice.groceriesId}`).getByRole("button", { name: "Unfreeze" }).click();
    await page.locator(`article#${w.alice.groceriesId} .badge.active`).waitFor();
    expect(await ask(w.shopper, w.alice.groceriesId, w.grocer, "5.00")).to.deep.include({ http: 201 });
  });

  it("kill switch per agent: its grants on the person's sub-wallets are revoked and its next payment is refused", async () => {
    const { page } = await signedIn(w.alice.key);
    await page.goto(`${w.url}/console/agents`);
    const card = page.locator(`article#${w.shopper.id}`);
    await card.getByText("Stop this agent").click();
    await card.getByRole("button", { name: "Revoke all its grants" }).click();
    await page.locator(`article#${w.shopper.id} .notice.ok`).waitFor();
    expect(await page.locator(`article#${w.shopper.id}`).textContent()).to.contain("Revoked 1 grant");
    const refused = await ask(w.shopper, w.alice.groceriesId, w.grocer, "5.00");
    expect(refused.http).to.be.within(400, 499);
    expect(refused.body.error?.code).to.match(/GRANT/);
    // the other agents keep their grants
    expect(w.pay.grants.list({ agentId: w.tripPlanner.id, activeOnly: true })).to.have.length(1);
    expect(w.pay.grants.list({ agentId: w.reader.id, activeOnly: true })).to.have.length(1);
  });

  it("refuses a state change without the CSRF token: from the console page itself, and from a cross-site form", async () => {
    const { page } = await signedIn(w.alice.key);
    await page.goto(`${w.url}/console/sub-wallets`);
    // same origin, session cookie sent, but no token
    const status = await page.evaluate(async (id) => (await fetch(`/console/sub-wallets/${id}/freeze`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "" })).status, w.alice.travelId);
    expect(status).to.equal(403);
    // another origin on the same host (same site: the SameSite=Strict cookie IS sent) posts a form with no token
    const { createServer } = await import("node:http");
    const evil = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><title>win a prize</title>
        <form id="f" method="post" action="${w.url}/console/sub-wallets/${w.alice.travelId}/freeze"><input name="x" value="1"></form>
        <script>document.getElementById("f").submit()</script>`);
    });
    await new Promise<void>((r) => evil.listen(0, "127.0.0.1", r));
    const port = (evil.address() as { port: number }).port;
    try {
      for (const host of ["127.0.0.1", "localhost"]) {
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.url().endsWith(`/sub-wallets/${w.alice.travelId}/freeze`)),
          page.goto(`http://${host}:${port}/`),
        ]);
        expect(response.status(), host).to.equal(403);
        expect(await page.getByRole("alert").textContent()).to.match(/Refused/);
      }
    } finally {
      await new Promise<void>((r) => evil.close(() => r()));
    }
    expect(w.pay.wallets.getSubWallet(w.alice.travelId).status).to.equal("active");
  });

  it("another person's approval is not visible and cannot be acted on", async () => {
    const alice = await signedIn(w.alice.key);
    const alicePage = await openLive(alice.ctx, w.url);
    const bob = await signedIn(w.bob.key);
    const bobPage = await openLive(bob.ctx, w.url);
    const asked = await ask(w.tripPlanner, w.alice.travelId, w.air, "130.00");
    expect(asked.body.status).to.equal("pending_approval");
    await alicePage.locator(`article#${asked.body.approvalId}`).waitFor();
    await bobPage.reload();
    await bobPage.waitForSelector('body[data-live-state="connected"]');
    expect(await bobPage.locator("article.approval").count()).to.equal(0);
    expect(await bobPage.locator("main").textContent()).to.not.contain("SkyAir");
    const csrf = await bobPage.locator('meta[name="csrf-token"]').getAttribute("content");
    const tried = await bobPage.evaluate(async ({ id, csrf }) => {
      const r = await fetch(`/console/approvals/${id}/decide`, { method: "POST", headers: { "x-csrf-token": csrf!, "content-type": "application/x-www-form-urlencoded" }, body: "decision=approve" });
      return r.status;
    }, { id: asked.body.approvalId!, csrf });
    expect(tried).to.equal(404);
    const story = await bobPage.goto(`${w.url}/console/payments/${asked.body.paymentId}`);
    expect(story!.status()).to.equal(404);
    expect(w.pay.approvals.get(asked.body.approvalId!).status).to.equal("pending");
    // and alice still can
    await alicePage.locator(`article#${asked.body.approvalId}`).getByRole("button", { name: "Deny" }).click();
    await alicePage.locator("#decision-status .notice.ok").waitFor();
    expect(w.pay.approvals.get(asked.body.approvalId!).status).to.equal("denied");
  });

  it("a payment's story: intent, decision and reasons, approval, hold, capture, refund and the merchant's callbacks; the list filters by status", async () => {
    const { ctx } = await signedIn(w.alice.key);
    const page = await openLive(ctx, w.url);
    const agent = runAgent(agentArgs({ value: "240.00", reference: "order-45" }));
    const asked = await agent.next();
    await page.locator(`article#${asked.approvalId}`).getByRole("button", { name: "Approve" }).click();
    const final = await agent.next();
    await w.pay.payments.redeem({ token: final.token!, merchantId: w.air, amount: amount("230.00", "USD"), idempotencyKey: "cap-45" });
    await w.pay.payments.refund({ paymentId: asked.paymentId!, merchantId: w.air, amount: amount("30.00", "USD"), idempotencyKey: "ref-45" });
    // the merchant's callbacks arrive (captured, refunded), signed and marked agent-initiated
    for (let i = 0; i < 200 && w.callbacks.filter((c) => c.body.includes(asked.paymentId!)).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    await page.goto(`${w.url}/console/payments?status=refunded`);
    const rows = page.locator("#payments-table tbody tr");
    expect(await rows.count()).to.equal(1);
    expect(await rows.first().textContent()).to.contain("$240.00");
    await page.goto(`${w.url}/console/payments?status=denied`);
    expect(await page.locator("#payments-table tbody tr").count()).to.be.greaterThan(0);
    expect(await page.locator("#payments-table").textContent()).to.not.contain("$240.00");
    await page.goto(`${w.url}/console/payments/${asked.paymentId}`);
    const story = (await page.locator("ol.story").textContent())!;
    for (const s of ["Intent", "order-45", "Decision: review", "APPROVAL_THRESHOLD", "Approval", "approved by person:alice (console)", "Hold",
      "Capture", "$230.00", "$10.00 went back", "Refunds", "$30.00 back", "Callbacks", "payment.captured", "payment.refunded", "delivered"]) {
      expect(story).to.contain(s);
    }
    expect(await axe(page)).to.deep.equal([]);
    await screenshots(page, "payment-story");
  });

  it("shows the notifications the policy's rules raised, live", async () => {
    const { ctx } = await signedIn(w.alice.key);
    const page = await openLive(ctx, w.url, "/console/notifications");
    const before = await page.locator("#notifications li.card").count();
    const r = await ask(w.tripPlanner, w.alice.travelId, w.hotel, "90.00");
    expect(r.body.status).to.equal("approved");
    await page.waitForFunction((n) => document.querySelectorAll("#notifications li.card").length > n, before);
    const newest = (await page.locator("#notifications li.card").first().textContent())!;
    expect(newest).to.contain("Payment: $90.00");
    expect(newest).to.contain("above $50.00");
  });

  it("every page passes axe (no serious or critical violation); screenshots at desktop and phone widths", async () => {
    const { ctx } = await signedIn(w.alice.key);
    const page = await openLive(ctx, w.url);
    const asked = await ask(w.tripPlanner, w.alice.travelId, w.air, "260.00");
    await page.locator(`article#${asked.body.approvalId}`).waitFor();
    const pages: Array<[string, string]> = [
      ["approvals", "/console/approvals"], ["sub-wallets", "/console/sub-wallets"], ["payments", "/console/payments"],
      ["agents", "/console/agents"], ["notifications", "/console/notifications"],
    ];
    const found: string[] = [];
    for (const [name, path] of pages) {
      await page.goto(`${w.url}${path}`);
      for (const v of await axe(page)) found.push(`${name}: ${v}`);
      await page.setViewportSize({ width: 390, height: 844 });
      for (const v of await axe(page)) found.push(`${name} (phone): ${v}`);
      await page.setViewportSize({ width: 1280, height: 900 });
      const shots = await screenshots(page, name);
      for (const s of shots) expect(existsSync(s)).to.equal(true);
    }
    const anon = await (await context()).newPage();
    await anon.goto(`${w.url}/console/sign-in`);
    for (const v of await axe(anon)) found.push(`sign-in: ${v}`);
    await screenshots(anon, "sign-in");
    expect(found).to.deep.equal([]);
    if (process.env.AGENTPAY_README_SCREENSHOTS === "1") {
      // the two the README shows (kept in git; the others are written on every run and ignored)
      copyFileSync(join(SHOTS, "approvals-desktop.png"), join(SHOTS, "readme-approvals-desktop.png"));
      copyFileSync(join(SHOTS, "sub-wallets-phone.png"), join(SHOTS, "readme-sub-wallets-phone.png"));
    }
    // the page works by keyboard: the skip link is first, and focus is visible
    await page.goto(`${w.url}/console/approvals`);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).to.equal("Skip to content");
    await w.pay.approvals.deny(asked.body.approvalId!);
  });

  it("the operator signs in too and sees every person's approvals", async () => {
    const { ctx } = await signedIn(w.operatorKey);
    const page = await openLive(ctx, w.url);
    const a = await ask(w.reader, w.bob.booksId, w.bookshop, "25.00", "EUR");
    const card = page.locator(`article#${a.body.approvalId}`);
    await card.waitFor();
    const text = (await card.textContent())!;
    expect(text).to.contain("€25.00"); // the currency's own symbol, in the reader's locale (en-US)
    expect(text).to.contain("bob");
    await card.getByRole("button", { name: "Approve" }).click();
    await page.locator("#decision-status .notice.ok").waitFor();
    expect(w.pay.approvals.get(a.body.approvalId!).resolvedBy).to.equal("operator (console)");
  });
});

describe("console (browser): sessions end", function () {
  this.timeout(120_000);
  let w: World;
  let browser: Browser;
  const clock = new ManualClock(Date.now());

  before(async () => {
    // A long keep-alive: the live feed's own session check (which would also send the page to sign-in) stays out of the way.
    w = await startWorld({ console: { clock, idleMs: 60_000, maxAgeMs: 3_600_000, heartbeatS: 3600 } });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await w?.close();
  });

  it("an expired session goes back to sign-in, for a page and for an action; nothing changes", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const problems = watchProblems(page);
    // Each page, once its live feed connected, refreshes its regions once (catch-up): wait for that
    // before moving the clock, so the expiry is met by the next click, not by that refresh.
    const settled = (path: string, go: () => Promise<unknown>) => Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/approvals/count")), page.waitForResponse((r) => r.url().includes(path)), go(),
    ]);
    await settled("/approvals/list", () => signIn(page, w.url, w.alice.key));
    clock.advance(30_000);
    await settled("/sub-wallets/wallet/", () => page.getByRole("link", { name: "Sub-wallets", exact: true }).click()); // idle 30 s < 60 s
    expect(page.url()).to.match(/sub-wallets$/);
    clock.advance(61_000);
    await page.locator("nav").getByRole("link", { name: "Payments" }).click();
    await page.waitForURL(/sign-in\?expired=1/);
    expect(await page.getByRole("status").first().textContent()).to.contain("session ended");
    // an htmx action after expiry: redirected to sign-in, and the freeze did not happen
    await signIn(page, w.url, w.alice.key);
    await settled("/sub-wallets/wallet/", () => page.goto(`${w.url}/console/sub-wallets`));
    clock.advance(61_000);
    await page.locator(`article#${w.alice.travelId}`).getByRole("button", { name: "Freeze" }).click();
    await page.waitForURL(/sign-in\?expired=1/);
    expect(w.pay.wallets.getSubWallet(w.alice.travelId).status).to.equal("active");
    // the absolute lifetime ends a busy session too (requests with the tab's cookies, no page in the way)
    await signIn(page, w.url, w.alice.key);
    await page.goto("about:blank");
    for (let i = 0; i < 62; i++) {
      clock.advance(59_000);
      const r = await ctx.request.get(`${w.url}/console/agents`, { maxRedirects: 0 });
      expect(r.status(), `after ${(i + 1) * 59} s`).to.equal(i < 61 ? 200 : 303);
    }
    expect(problems).to.deep.equal([]);
    await ctx.close();
  });
});

describe("console (browser): agentpay serve", function () {
  this.timeout(120_000);

  it("`agentpay serve` serves the console at the URL it prints; the operator signs in with AGENTPAY_OPERATOR_KEY", async () => {
    const cli = await startCli();
    const browser = await launch();
    try {
      expect(cli.consoleUrl).to.equal(`${cli.url}/console`);
      const page = await browser.newPage();
      const problems = watchProblems(page);
      await page.goto(cli.consoleUrl);
      await page.getByLabel("API key").fill(cli.operatorKey);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(/\/console\/approvals$/);
      expect(await page.locator("header").textContent()).to.contain("Signed in as the operator");
      await page.waitForSelector('body[data-live-state="connected"]');
      // every asset came from this server
      const external = await page.evaluate((origin) => [...document.querySelectorAll("script[src], link[href]")]
        .map((e) => (e as any).src || (e as any).href).filter((u) => !u.startsWith(origin)), cli.url);
      expect(external).to.deep.equal([]);
      expect(problems).to.deep.equal([]);
    } finally {
      await browser.close();
      await cli.stop();
    }
  });
});
