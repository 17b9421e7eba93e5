// The HTTP API attacked the way a hostile agent, merchant, person or anonymous caller would, over a
// real socket: each test is a weakness that was found (and fixed), or a defence worth keeping.
import { expect } from "chai";
import { pino } from "pino";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { amount, buildPayIntent, requestSignatureBody, signIntent } from "../../src/index.ts";
import { AgentPay } from "../../src/index.ts";
import { createApp, serve } from "../../src/http/index.ts";
import { startWorld } from "./helpers.ts";
import type { World } from "./helpers.ts";

const usd = (value: string) => ({ value, currency: "USD" });

/** A request with exactly these headers (no helper adds or checks anything). */
async function raw(w: World, method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}) {
  const r = await fetch(`${w.url}${path}`, { method, headers: opts.headers ?? {}, ...(opts.body !== undefined ? { body: opts.body } : {}) });
  const text = await r.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: r.status, headers: r.headers, text, body };
}

/** A Server-Sent Events stream read in the background: what arrived so far, and whether it ended. */
async function stream(w: World, authorization: string) {
  const ctrl = new AbortController();
  const res = await fetch(`${w.url}/v1/events/stream`, { headers: { authorization }, signal: ctrl.signal });
  let text = "";
  let ended = false;
  const wakers = new Set<() => void>();
  const done = (async () => {
    if (!res.body) return;
    const reader = res.body.getReader();
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
      for (const wake of wakers) wake();
    }
    ended = true;
    for (const wake of wakers) wake();
  })();
  /** Resolves once `re` matches what arrived (or the stream ended, or `ms` passed): the match or undefined. */
  const until = (re: RegExp, ms = 10_000) => new Promise<string | undefined>((resolve) => {
    const check = () => {
      const m = re.exec(text);
      if (m || ended) {
        wakers.delete(check);
        clearTimeout(timer);
        resolve(m?.[0]);
      }
    };
    const timer = setTimeout(() => { wakers.delete(check); resolve(re.exec(text)?.[0]); }, ms);
    wakers.add(check);
    check();
  });
  return { status: res.status, res, until, done, text: () => text, ended: () => ended, close: () => ctrl.abort() };
}

describe("HTTP attacks", function () {
  this.timeout(120_000);
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  describe("idempotency", () => {
    it("a used payment intent resent with its Idempotency-Key is a replay, not a way to fetch the live token", async () => {
      const intent = await w.payIntent("5.00");
      const headers = { "content-type": "application/json", "idempotency-key": "leaked-1" };
      const first = await raw(w, "POST", "/v1/payment-intents", { body: JSON.stringify({ intent }), headers });
      expect(first.status).to.equal(201);
      expect(first.body.token).to.be.a("string");
      // Whoever saw the request (a proxy's log, a shared trace) sends it again.
      const again = await raw(w, "POST", "/v1/payment-intents", { body: JSON.stringify({ intent }), headers });
      expect(again.status, again.text).to.equal(409);
      expect(again.body.error.code).to.equal("INTENT_REPLAYED");
      expect(again.text).to.not.contain(first.body.token);
    });

    it("an anonymous caller cannot claim an Idempotency-Key before the agent that will use it", async () => {
      const claimed = await raw(w, "POST", "/v1/payment-intents", { body: JSON.stringify({ intent: "a.b.c" }), headers: { "content-type": "application/json", "idempotency-key": "order-77" } });
      expect(claimed.status).to.equal(400);
      const honest = await raw(w, "POST", "/v1/payment-intents", {
        body: JSON.stringify({ intent: await w.payIntent("5.00") }), headers: { "content-type": "application/json", "idempotency-key": "order-77" },
      });
      expect(honest.status, honest.text).to.equal(201);
      expect(honest.body.status).to.equal("approved");
    });

    it("keys are the caller's: another person's or merchant's same key and body is a new request, never the stored answer", async () => {
      const body = { amount: usd("1.00") };
      const alice = await w.call("alice", "POST", `/v1/wallets/${w.aliceWallet}/deposits`, body, { "idempotency-key": "shared-key" });
      expect(alice.status).to.equal(201);
      const bob = await w.call("bob", "POST", `/v1/wallets/${w.aliceWallet}/deposits`, body, { "idempotency-key": "shared-key" });
      expect(bob.status).to.equal(404);
      expect(bob.headers.get("idempotent-replayed")).to.equal(null);
      // The same key on another route is another request.
      const other = await w.call("alice", "POST", `/v1/wallets/${w.aliceWallet}/withdrawals`, body, { "idempotency-key": "shared-key" });
      expect(other.status).to.equal(201);
      expect(other.body.id).to.not.equal(alice.body.id);
    });
  });

  describe("bad input changes nothing", () => {
    it("an agent's void intent for one payment sent to another payment's route is refused before anything moves", async () => {
      const a = await w.pay.payments.authorize(await w.payIntent("3.00"));
      const b = await w.pay.payments.authorize(await w.payIntent("4.00"));
      const intent = await w.intent("agentA", { action: "void", paymentId: a.paymentId });
      const res = await w.call("none", "POST", `/v1/payments/${b.paymentId}/void`, { intent });
      expect(res.status).to.equal(400);
      expect(res.body.error.details.field).to.equal("intent");
      expect(w.pay.payments.get(a.paymentId).status, "the payment the intent names").to.equal("authorized");
      expect(w.pay.payments.get(b.paymentId).status).to.equal("authorized");
      // The intent was not spent: sent where it belongs, it voids its payment.
      expect((await w.call("none", "POST", `/v1/payments/${a.paymentId}/void`, { intent })).body.status).to.equal("voided");
    });

    it("a PUT without a body does not replace the policy with an empty one (every limit gone)", async () => {
      const sw = (await w.pay.wallets.createSubWallet(w.aliceWallet, { name: "guarded", policy: { perPayment: "30.00", approvalAbove: "10.00" } })).id;
      const before = w.pay.wallets.getSubWallet(sw).policy;
      for (const headers of [{}, { "content-length": "0" }] as Record<string, string>[]) {
        const res = await raw(w, "PUT", `/v1/sub-wallets/${sw}/policy`, { headers: { authorization: `Bearer ${w.keys.alice}`, ...headers } });
        expect(res.status, res.text).to.equal(400);
        expect(res.body.error.code).to.equal("INVALID_INPUT");
      }
      expect(w.pay.wallets.getSubWallet(sw).policy).to.deep.equal(before);
      // An explicit empty policy is a choice the person may make.
      expect((await w.call("alice", "PUT", `/v1/sub-wallets/${sw}/policy`, {})).status).to.equal(200);
    });
  });

  describe("events, notifications and long-polls", () => {
    it("a person's notifications (budget limits and usage) reach the person, not the merchant or the agent", async () => {
      const sw = (await w.pay.wallets.createSubWallet(w.aliceWallet, {
        name: "notified", budget: { minor: 100_000n, currency: "USD" },
        policy: { daily: "500.00", notify: [{ when: "payment" }, { when: "budget_used", percent: 1 }] },
      })).id;
      await w.pay.grants.create({ subWalletId: sw, agentId: w.agents.agentA.id, scopes: ["pay"], mode: "persistent" });
      const merchant = await stream(w, `Bearer ${w.keys.merchantA}`);
      const alice = await stream(w, `Bearer ${w.keys.alice}`);
      expect(await merchant.until(/event: ready/)).to.not.equal(undefined);
      expect(await alice.until(/event: ready/)).to.not.equal(undefined);
      const paid = await w.pay.payments.authorize(await w.payIntent("20.00", { subWalletId: sw }));
      const notified = await alice.until(/event: notification\ndata: .*\nid: evt_\w+/);
      expect(notified, "alice is notified").to.not.equal(undefined);
      const eventId = /id: (evt_\w+)/.exec(notified!)![1]!;
      // Events reach a stream in order: once the merchant sees the void, it has seen all that came before.
      await w.pay.payments.voidByMerchant({ merchantId: w.merchantA, paymentId: paid.paymentId });
      expect(await merchant.until(/event: payment\.voided/)).to.not.equal(undefined);
      expect(merchant.text()).to.contain(paid.paymentId);
      expect(merchant.text()).to.not.contain("event: notification");
      expect(merchant.text()).to.not.contain("500.00");
      merchant.close();
      alice.close();
      for (const who of ["merchantA", "agentA", "bob"] as const) {
        expect((await w.call(who, "GET", `/v1/events/${eventId}`)).status, who).to.equal(404);
      }
      expect((await w.call("alice", "GET", `/v1/events/${eventId}`)).status).to.equal(200);
      expect((await w.call("operator", "GET", `/v1/events/${eventId}`)).status).to.equal(200);
    });

    it("a stream ends when its key is revoked or its agent disabled: nothing is delivered after", async () => {
      const key = await w.pay.apiKeys.create({ kind: "merchant", merchantId: w.merchantA });
      const merchant = await stream(w, `Bearer ${key.secret}`);
      expect(await merchant.until(/event: ready/)).to.not.equal(undefined);
      await w.pay.apiKeys.revoke(key.apiKey.id);
      const paid = await w.pay.payments.authorize(await w.payIntent("2.00"));
      await merchant.done;
      expect(merchant.text()).to.not.contain(paid.paymentId);

      const bot = await w.pay.agents.register({ name: "watcher", ownerId: "alice" });
      await w.pay.grants.create({ subWalletId: w.aliceSub, agentId: bot.agent.id, scopes: ["pay"], mode: "persistent" });
      const sig = await signIntent(bot.privateKeyJwk!, { agentId: bot.agent.id, nowMs: Date.now(), body: requestSignatureBody("GET", "/v1/events/stream", "") });
      const agent = await stream(w, `Agent ${sig}`);
      expect(await agent.until(/event: ready/)).to.not.equal(undefined);
      const before = await w.pay.payments.authorize(await signIntent(bot.privateKeyJwk!, {
        agentId: bot.agent.id, nowMs: Date.now(), body: buildPayIntent({ subWalletId: w.aliceSub, merchantId: w.merchantA, amount: amount("1.00", "USD") }),
      }));
      expect(await agent.until(new RegExp(before.paymentId))).to.not.equal(undefined);
      await w.pay.agents.disable(bot.agent.id);
      await w.pay.payments.voidByMerchant({ merchantId: w.merchantA, paymentId: before.paymentId });
      await agent.done;
      expect(agent.text()).to.not.contain("payment.voided");
    });

    it("a long-poll signed with a key revoked while it waits does not hand over the token", async () => {
      const bot = await w.pay.agents.register({ name: "poller", ownerId: "alice" });
      await w.pay.grants.create({ subWalletId: w.aliceSub, agentId: bot.agent.id, scopes: ["pay"], mode: "persistent" });
      // The intent is signed with a second key, so approving it stays legitimate when the first is revoked
      // (approving an intent whose own key was revoked is refused: test/payments/kill-switch.test.ts).
      const second = await w.pay.agents.rotateKey(bot.agent.id, {});
      const pending = await w.pay.payments.authorize(await signIntent(second.privateKeyJwk!, {
        agentId: bot.agent.id, nowMs: Date.now(), body: buildPayIntent({ subWalletId: w.aliceSub, merchantId: w.merchantA, amount: amount("150.00", "USD") }),
      }));
      if (pending.status !== "pending_approval") throw new Error("expected pending_approval");
      const path = `/v1/payments/${pending.paymentId}?wait=30`;
      // The long-poll is signed with the first key (retired, still valid until revoked).
      const sig = await signIntent(bot.privateKeyJwk!, { agentId: bot.agent.id, nowMs: Date.now(), body: requestSignatureBody("GET", path, "") });
      const waiting = raw(w, "GET", path, { headers: { authorization: `Agent ${sig}` } });
      for (let i = 0; i < 200 && w.pay.payments.waiting === 0; i++) await new Promise((r) => setTimeout(r, 25));
      // That key leaked: the person revokes it, then approves the agent's payment.
      await w.pay.agents.revokeKey(bot.agent.id, bot.kid);
      await w.pay.approvals.approve(pending.approvalId, { by: "person:alice" });
      const res = await waiting;
      expect(w.pay.payments.get(pending.paymentId).status).to.equal("authorized");
      expect(res.status, res.text).to.equal(401);
      expect(res.text).to.not.contain(w.pay.payments.issuedToken(pending.paymentId)!.token);
    });

    it("a person's notification channel cannot borrow a merchant's webhook secret (secretRef)", async () => {
      const channel = { kind: "webhook", url: "https://alice.example/hook", secretRef: `merchant:${w.merchantA}` };
      const sw = (await w.pay.wallets.createSubWallet(w.aliceWallet, { name: "borrower" })).id;
      const before = w.pay.wallets.getSubWallet(sw).policy;
      const put = await w.call("alice", "PUT", `/v1/sub-wallets/${sw}/policy`, { notify: [{ when: "payment", channel }] });
      expect(put.status, put.text).to.equal(400);
      expect(put.body.error.details.field).to.match(/channel/);
      const created = await w.call("alice", "POST", `/v1/wallets/${w.aliceWallet}/sub-wallets`, { name: "borrower2", policy: { notify: [{ when: "payment", channel }] } });
      expect(created.status, created.text).to.equal(400);
      expect(w.pay.wallets.getSubWallet(sw).policy).to.deep.equal(before);
      // A channel with its own secret is the person's to set.
      const own = await w.call("alice", "PUT", `/v1/sub-wallets/${sw}/policy`, { notify: [{ when: "payment", channel: { kind: "webhook", url: "https://alice.example/hook", secret: "s".repeat(32) } }] });
      expect(own.status, own.text).to.equal(200);
    });

    it("a notification channel's secret, URL and headers are not shown to the agent, nor echoed to the person", async () => {
      const secret = "n0tify-secret-".padEnd(40, "x");
      const url = "https://hooks.example/services/T0/B0/hook-token-in-the-url";
      const channel = { kind: "webhook", url, secret, headers: { authorization: "Bearer person-third-party-token" } };
      const created = await w.call("alice", "POST", `/v1/wallets/${w.aliceWallet}/sub-wallets`, { name: "channelled", policy: { notify: [{ when: "payment", channel }] } });
      expect(created.status, created.text).to.equal(201);
      const sw = created.body.id as string;
      const put = await w.call("alice", "PUT", `/v1/sub-wallets/${sw}/policy`, { perPayment: "50.00", notify: [{ when: "payment", channel }] });
      const frozen = await w.call("alice", "POST", `/v1/sub-wallets/${sw}/freeze`);
      const unfrozen = await w.call("alice", "POST", `/v1/sub-wallets/${sw}/unfreeze`);
      for (const res of [created, put, frozen, unfrozen, await w.call("alice", "GET", `/v1/sub-wallets/${sw}`)]) {
        expect(res.status, res.text).to.be.oneOf([200, 201]);
        expect(res.text).to.not.contain(secret);
      }
      await w.pay.grants.create({ subWalletId: sw, agentId: w.agents.agentA.id, scopes: ["pay"], mode: "persistent" });
      const seen = await w.call("agentA", "GET", `/v1/sub-wallets/${sw}`);
      expect(seen.status).to.equal(200);
      expect(seen.body.policy.perPayment).to.deep.equal(usd("50.00"));
      for (const leak of [secret, "hook-token-in-the-url", "person-third-party-token"]) expect(seen.text).to.not.contain(leak);
    });
  });

  describe("agent request signatures", () => {
    const sign = (who: "agentA" | "agentB", method: string, path: string, body = "", nowMs = Date.now()) =>
      signIntent(w.agents[who].jwk, { agentId: w.agents[who].id, nowMs, body: requestSignatureBody(method, path, body) }).then((s) => `Agent ${s}`);

    it("bind the query string, the body and the method: a signature for one request is refused for any other", async () => {
      const pending = await w.pay.payments.authorize(await w.payIntent("150.00"));
      const path = `/v1/payments/${pending.paymentId}`;
      const cases: Array<[string, string, string, string, string?]> = [
        // [signed method, signed path, sent method, sent path, sent body]
        ["GET", `${path}?wait=1`, "GET", `${path}?wait=60`],
        ["GET", `${path}?wait=1`, "GET", `${path}?wait=1&wait=60`],
        ["GET", `${path}?wait=1`, "GET", path],
        ["GET", path, "GET", `${path}/`],
        ["GET", path, "GET", `/v1//payments/${pending.paymentId}`],
        ["GET", path, "GET", `/v1/payments%2F${pending.paymentId}`],
        ["GET", path, "GET", path.toUpperCase()],
        ["GET", path, "HEAD", path],
        ["HEAD", path, "GET", path],
      ];
      for (const [sm, sp, method, sent] of cases) {
        const res = await raw(w, method, sent, { headers: { authorization: await sign("agentA", sm, sp) } });
        expect(res.status, `${sm} ${sp} sent as ${method} ${sent}: ${res.text}`).to.be.oneOf([400, 401, 404]);
      }
      const keys = `/v1/agents/${w.agents.agentA.id}/keys`;
      const signed = await sign("agentA", "POST", keys, JSON.stringify({ grace: "1h" }));
      const other = await raw(w, "POST", keys, { body: JSON.stringify({ grace: "9h" }), headers: { authorization: signed, "content-type": "application/json" } });
      expect(other.status).to.equal(401);
      expect(other.body.error.code).to.equal("REQUEST_SIGNATURE_INVALID");
      expect(w.pay.agents.get(w.agents.agentA.id).keys.length).to.equal(1);
    });

    it("another agent's key cannot speak for this agent, nor read its payments, tokens or sub-wallets", async () => {
      const paid = await w.pay.payments.authorize(await w.payIntent("2.00"));
      if (paid.status !== "approved") throw new Error("expected approved");
      const claiming = `Agent ${await signIntent(w.agents.agentB.jwk, {
        agentId: w.agents.agentA.id, kid: (w.agents.agentB.jwk as { kid: string }).kid, nowMs: Date.now(), body: requestSignatureBody("GET", `/v1/payments/${paid.paymentId}`, ""),
      })}`;
      expect((await raw(w, "GET", `/v1/payments/${paid.paymentId}`, { headers: { authorization: claiming } })).status).to.equal(401);
      for (const path of [`/v1/payments/${paid.paymentId}`, `/v1/sub-wallets/${w.aliceSub}`, `/v1/sub-wallets/${w.aliceSub}/budget`, `/v1/agents/${w.agents.agentA.id}`]) {
        const res = await raw(w, "GET", path, { headers: { authorization: await sign("agentB", "GET", path) } });
        expect(res.status, path).to.equal(404);
        expect(res.text).to.not.contain(paid.token);
      }
      const list = await raw(w, "GET", `/v1/payments?agentId=${w.agents.agentA.id}`, { headers: { authorization: await sign("agentB", "GET", `/v1/payments?agentId=${w.agents.agentA.id}`) } });
      expect(list.body.data).to.deep.equal([]);
      const mine = await raw(w, "GET", `/v1/payments?subWalletId=${w.aliceSub}`, { headers: { authorization: await sign("agentB", "GET", `/v1/payments?subWalletId=${w.aliceSub}`) } });
      expect(mine.body.data).to.deep.equal([]);
    });

    it("a signature dated more than five minutes ahead or behind is refused; within it, used once", async () => {
      const path = `/v1/sub-wallets/${w.aliceSub}/budget`;
      expect((await raw(w, "GET", path, { headers: { authorization: await sign("agentA", "GET", path, "", Date.now() + 6 * 60_000) } })).status).to.equal(401);
      expect((await raw(w, "GET", path, { headers: { authorization: await sign("agentA", "GET", path, "", Date.now() - 6 * 60_000) } })).status).to.equal(401);
      const ahead = await sign("agentA", "GET", path, "", Date.now() + 4 * 60_000);
      expect((await raw(w, "GET", path, { headers: { authorization: ahead } })).status).to.equal(200);
      expect((await raw(w, "GET", path, { headers: { authorization: ahead } })).status).to.equal(409);
    });
  });

  describe("grant scopes", () => {
    it("an agent reads a sub-wallet's balance only with the balance:read scope (its budget, to pay within it, with any grant)", async () => {
      // agentB's grant on bob's sub-wallet is ["pay"] only; agentA's on alice's includes balance:read.
      expect((await w.call("agentB", "GET", `/v1/sub-wallets/${w.bobSub}/balance`)).status).to.equal(403);
      expect((await w.call("agentB", "GET", `/v1/sub-wallets/${w.bobSub}/budget`)).status).to.equal(200);
      expect((await w.call("agentA", "GET", `/v1/sub-wallets/${w.aliceSub}/balance`)).status).to.equal(200);
      expect((await w.call("bob", "GET", `/v1/sub-wallets/${w.bobSub}/balance`)).status).to.equal(200);
    });
  });

  describe("keys", () => {
    it("a rotated key's holder cannot rotate it again to outlive its grace", async () => {
      const mine = await w.pay.apiKeys.create({ kind: "person", ownerId: "alice" });
      const rotate = (grace: string) => raw(w, "POST", `/v1/api-keys/${mine.apiKey.id}/rotate`, {
        body: JSON.stringify({ grace }), headers: { authorization: `Bearer ${mine.secret}`, "content-type": "application/json" },
      });
      expect((await rotate("15m")).status).to.equal(201);
      const expiresAt = w.pay.apiKeys.get(mine.apiKey.id).expiresAtMs;
      const again = await rotate("7d");
      expect(again.status, again.text).to.be.oneOf([400, 403]);
      expect(again.text).to.not.match(/apk_p_/);
      expect(w.pay.apiKeys.get(mine.apiKey.id).expiresAtMs).to.equal(expiresAt);
    });

    it("a key in its grace period keeps working but manages no keys: it cannot mint, rotate or revoke its replacement", async () => {
      const old = await w.pay.apiKeys.create({ kind: "person", ownerId: "alice" });
      const next = await w.pay.apiKeys.rotate(old.apiKey.id, { grace: "15m" });
      const as = (secret: string, method: string, path: string, body?: unknown) => raw(w, method, path, {
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}), headers: { authorization: `Bearer ${secret}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      });
      expect((await as(old.secret, "GET", `/v1/wallets/${w.aliceWallet}`)).status).to.equal(200);
      const rotated = await as(old.secret, "POST", `/v1/api-keys/${next.apiKey.id}/rotate`, {});
      expect(rotated.status, rotated.text).to.equal(403);
      expect(rotated.text).to.not.match(/apk_p_/);
      expect((await as(old.secret, "POST", `/v1/api-keys/${next.apiKey.id}/revoke`)).status).to.equal(403);
      expect(w.pay.apiKeys.authenticate(next.secret)).to.not.equal(undefined);
      // The replacement manages keys as usual.
      expect((await as(next.secret, "POST", `/v1/api-keys/${old.apiKey.id}/revoke`)).status).to.equal(200);

      const shopOld = await w.pay.apiKeys.create({ kind: "merchant", merchantId: w.merchantB });
      await w.pay.apiKeys.rotate(shopOld.apiKey.id, { grace: "15m" });
      expect((await as(shopOld.secret, "POST", `/v1/merchants/${w.merchantB}/api-keys`, {})).status).to.equal(403);
      expect((await as(shopOld.secret, "GET", `/v1/merchants/${w.merchantB}`)).status).to.equal(200);
    });

    it("an agent's replaced key keeps signing during its grace but cannot rotate or revoke the agent's keys", async () => {
      const bot = await w.pay.agents.register({ name: "rotated", ownerId: "alice" });
      const next = await w.pay.agents.rotateKey(bot.agent.id, { grace: "1h" });
      const as = async (method: string, path: string, body?: unknown) => {
        const text = body === undefined ? "" : JSON.stringify(body);
        const sig = await signIntent(bot.privateKeyJwk!, { agentId: bot.agent.id, nowMs: Date.now(), body: requestSignatureBody(method, path, text) });
        return raw(w, method, path, { ...(body !== undefined ? { body: text } : {}), headers: { authorization: `Agent ${sig}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) } });
      };
      expect((await as("GET", `/v1/agents/${bot.agent.id}`)).status).to.equal(200);
      const minted = await as("POST", `/v1/agents/${bot.agent.id}/keys`, {});
      expect(minted.status, minted.text).to.equal(403);
      expect(minted.text).to.not.contain("privateKeyJwk");
      expect((await as("POST", `/v1/agents/${bot.agent.id}/keys/${next.kid}/revoke`)).status).to.equal(403);
      const agent = w.pay.agents.get(bot.agent.id);
      expect(agent.activeKid).to.equal(next.kid);
      expect(agent.keys.map((k) => k.status)).to.deep.equal(["retired", "active"]);
    });
  });
});

describe("HTTP attacks: what one caller may hold open", function () {
  this.timeout(120_000);
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  it("event streams: a party gets a bounded number at once, so it cannot take every stream from the others", async () => {
    const mine = [];
    for (let i = 0; i < 16; i++) {
      const s = await stream(w, `Bearer ${w.keys.merchantB}`);
      expect(s.status).to.equal(200);
      mine.push(s);
    }
    const extra = await stream(w, `Bearer ${w.keys.merchantB}`);
    expect(extra.status).to.equal(429);
    expect(Number(extra.res.headers.get("retry-after"))).to.be.greaterThan(0);
    const other = await stream(w, `Bearer ${w.keys.merchantA}`);
    expect(other.status).to.equal(200);
    other.close();
    // Closing one frees its place.
    mine.pop()!.close();
    let again: Awaited<ReturnType<typeof stream>> | undefined;
    for (let i = 0; i < 100 && again?.status !== 200; i++) {
      again?.close();
      await new Promise((r) => setTimeout(r, 50));
      again = await stream(w, `Bearer ${w.keys.merchantB}`);
    }
    expect(again!.status).to.equal(200);
    again!.close();
    for (const s of mine) s.close();
  });

  it("long-polls: a party waits on a bounded number at once; past it 429, and others still wait", async () => {
    const pending = await w.pay.payments.authorize(await w.payIntent("150.00"));
    if (pending.status !== "pending_approval") throw new Error("expected pending_approval");
    const path = `/v1/payments/${pending.paymentId}?wait=60`;
    const waits = Array.from({ length: 64 }, () => raw(w, "GET", path, { headers: { authorization: `Bearer ${w.keys.alice}` } }));
    // Every one of them is waiting once the payment's waiters say so.
    for (let i = 0; i < 200 && w.pay.payments.waiting < 64; i++) await new Promise((r) => setTimeout(r, 25));
    expect(w.pay.payments.waiting).to.equal(64);
    const extra = await raw(w, "GET", path, { headers: { authorization: `Bearer ${w.keys.alice}` } });
    expect(extra.status, extra.text).to.equal(429);
    const operator = raw(w, "GET", path, { headers: { authorization: `Bearer ${w.keys.operator}` } });
    await w.pay.approvals.approve(pending.approvalId, { by: "person:alice" });
    expect(new Set((await Promise.all(waits)).map((r) => r.status))).to.deep.equal(new Set([200]));
    expect((await operator).body.status).to.equal("authorized");
    expect((await raw(w, "GET", path, { headers: { authorization: `Bearer ${w.keys.alice}` } })).status).to.equal(200);
  });
});

describe("HTTP attacks: rate limits", function () {
  this.timeout(60_000);
  let w: World;
  // A bucket of 5 that refills about once a minute and a half: what a test does in between never refills it.
  before(async () => { w = await startWorld({ serve: { rateLimit: { perSecond: 0.01, burst: 5 } } }); });
  after(async () => { await w.close(); });

  const get = (auth?: string) => raw(w, "GET", `/v1/wallets/${w.aliceWallet}`, { headers: auth ? { authorization: auth } : {} });

  it("are per party: a person's (or merchant's) second key shares the first one's budget", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await get(`Bearer ${w.keys.alice}`)).status);
    expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429]);
    const second = await w.pay.apiKeys.create({ kind: "person", ownerId: "alice" });
    const res = await get(`Bearer ${second.secret}`);
    expect(res.status).to.equal(429);
    expect(Number(res.headers.get("retry-after"))).to.be.greaterThan(0);
    // Another party is not affected.
    expect((await raw(w, "GET", `/v1/wallets/${w.bobWallet}`, { headers: { authorization: `Bearer ${w.keys.bob}` } })).status).to.equal(200);
    const shop = (await w.pay.apiKeys.create({ kind: "merchant", merchantId: w.merchantA })).secret;
    const shopGet = (secret: string) => raw(w, "GET", `/v1/merchants/${w.merchantA}`, { headers: { authorization: `Bearer ${secret}` } });
    for (let i = 0; i < 5; i++) expect((await shopGet(shop)).status).to.equal(200);
    const minted = (await w.pay.apiKeys.create({ kind: "merchant", merchantId: w.merchantA })).secret;
    expect((await shopGet(minted)).status).to.equal(429);
  });

  it("failed credentials count against the caller's address: a wrong key is no way around the anonymous limit", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await get(`Bearer apk_p_${String(i).padStart(43, "A")}`)).status);
    expect(statuses.slice(0, 5)).to.deep.equal([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).to.deep.equal([429, 429, 429]);
    const bogusAgent = await get(`Agent ${"a".repeat(20)}.${"b".repeat(20)}.${"c".repeat(20)}`);
    expect(bogusAgent.status).to.equal(429);
    expect(bogusAgent.body.error.code).to.equal("RATE_LIMITED");
  });
});

describe("HTTP attacks: the OpenAPI document and reference page", () => {
  it("are built once, whatever Host header each caller sends (each build is tenths of a second of CPU, for anyone)", async () => {
    const pay = await AgentPay.open({ memory: true, delivery: false });
    try {
      const app = createApp(pay);
      let builds = 0;
      const build = app.getOpenAPI31Document.bind(app);
      app.getOpenAPI31Document = ((...args: Parameters<typeof build>) => { builds++; return build(...args); }) as typeof build;
      for (let i = 0; i < 12; i++) {
        const doc = await (await app.request(`http://host-${i}.example/openapi.json`)).json() as { servers: { url: string }[]; paths: object };
        expect(doc.servers).to.deep.equal([{ url: `http://host-${i}.example` }]);
        expect(Object.keys(doc.paths)).to.include("/v1/payments");
        const page = await app.request(`http://other-${i}.example/docs`);
        expect(page.status).to.equal(200);
        expect(await page.text()).to.contain("/v1/payments");
      }
      expect(builds).to.equal(1);
    } finally {
      await pay.close();
    }
  });

  it("the reference page runs no script; CORS is off unless origins are configured, and then only for them", async () => {
    const pay = await AgentPay.open({ memory: true, delivery: false });
    try {
      const page = await (await createApp(pay).request("http://h.example/docs")).text();
      expect(page).to.not.match(/<script|javascript:|\son\w+=/i);
      const preflight = { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization" } };
      const off = await createApp(pay).request("http://h.example/v1/wallets", preflight);
      expect(off.headers.get("access-control-allow-origin")).to.equal(null);
      const on = createApp(pay, { corsOrigins: ["https://console.example"] });
      expect((await on.request("http://h.example/v1/wallets", preflight)).headers.get("access-control-allow-origin")).to.not.equal("https://evil.example");
      const ok = await on.request("http://h.example/v1/wallets", { ...preflight, headers: { ...preflight.headers, origin: "https://console.example" } });
      expect(ok.headers.get("access-control-allow-origin")).to.equal("https://console.example");
      expect(ok.headers.get("access-control-allow-credentials")).to.equal(null);
    } finally {
      await pay.close();
    }
  });
});

describe("HTTP attacks: what the logs keep", function () {
  this.timeout(60_000);
  it("one line per request with its id and caller; never an Authorization header, an API key, a token, a signature or a secret", async () => {
    let logged = "";
    const sink = new Writable({ write(chunk, _enc, done) { logged += String(chunk); done(); } });
    const w = await startWorld({ serve: { logger: pino({ level: "debug" }, sink) } });
    const secrets: string[] = [...Object.values(w.keys)];
    try {
      const person = await w.call("operator", "POST", "/v1/persons/carol/api-keys", {});
      secrets.push(person.body.secret);
      const shop = await w.call("operator", "POST", "/v1/merchants", { name: "Logged Shop", category: "5411", callbackSecret: "c".repeat(40) });
      secrets.push(shop.body.callbackSecret, shop.body.apiKey.secret);
      const agent = await w.call("alice", "POST", "/v1/agents", { name: "logged" });
      secrets.push(agent.body.privateKeyJwk.d);
      const intent = await w.payIntent("150.00");
      secrets.push(intent);
      const pending = await w.call("none", "POST", "/v1/payment-intents", { intent });
      await w.call("alice", "POST", `/v1/approvals/${pending.body.approvalId}/approve`, {});
      const sig = await signIntent(w.agents.agentA.jwk, { agentId: w.agents.agentA.id, nowMs: Date.now(), body: requestSignatureBody("GET", `/v1/payments/${pending.body.paymentId}`, "") });
      secrets.push(sig);
      const mine = await raw(w, "GET", `/v1/payments/${pending.body.paymentId}`, { headers: { authorization: `Agent ${sig}` } });
      secrets.push(mine.body.token);
      await w.call("merchantA", "POST", "/v1/payments/redeem", { token: mine.body.token, amount: usd("150.00") }, { "idempotency-key": "logged-capture" });
      await w.call("merchantA", "POST", "/v1/payments/redeem", { token: mine.body.token, amount: usd("150.00") }, { "idempotency-key": "logged-capture-2" });
      await raw(w, "GET", "/v1/wallets", { headers: { authorization: "Bearer apk_p_wrongwrongwrongwrongwrongwrongwrongwrongwro" } });
    } finally {
      await w.close();
    }
    const lines = logged.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).to.be.greaterThan(8);
    for (const l of lines.filter((x) => x.msg === "request")) {
      expect(l.requestId).to.match(/^req_/);
      expect(Object.keys(l)).to.not.include.members(["headers", "body", "req", "query"]);
    }
    expect(logged.toLowerCase()).to.not.contain("authorization");
    for (const secret of secrets) expect(logged, "a secret in the logs").to.not.contain(secret);
    expect(logged).to.not.contain("eyJ"); // no JWS/JWT of any kind
  });
});

describe("HTTP attacks: replay across a restart", function () {
  this.timeout(60_000);
  it("a request signature used before the server restarted is still refused after", async () => {
    const dir = mkdtempSync(join(tmpdir(), "agentpay-replay-"));
    try {
      let pay = await AgentPay.open({ dir, delivery: false, risk: "off" });
      const { agent, privateKeyJwk } = await pay.agents.register({ name: "replayer" });
      let server = await serve(pay, { port: 0, rateLimit: false });
      const path = `/v1/agents/${agent.id}`;
      const sig = `Agent ${await signIntent(privateKeyJwk!, { agentId: agent.id, nowMs: Date.now(), body: requestSignatureBody("GET", path, "") })}`;
      expect((await fetch(`${server.url}${path}`, { headers: { authorization: sig } })).status).to.equal(200);
      await server.close();
      pay = await AgentPay.open({ dir, delivery: false, risk: "off" });
      server = await serve(pay, { port: 0, rateLimit: false });
      try {
        const again = await fetch(`${server.url}${path}`, { headers: { authorization: sig } });
        expect(again.status).to.equal(409);
        expect(((await again.json()) as { error: { code: string } }).error.code).to.equal("INTENT_REPLAYED");
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
