// The person's console in a real browser (Debian's chromium via playwright-core) against a real
// server on a real socket, with agents as separate processes that sign their intents and long-poll.
import { expect } from "chai";
import { amount, buildPayIntent, signIntent } from "../../src/index.ts";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { axe, launch, openLive, runAgent, screenshots, signIn, watchProblems } from "./browser.ts";
import { startWorld } from "./world.ts";
import type { World } from "./world.ts";

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
});
