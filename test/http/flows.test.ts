// The HTTP API end to end over a real socket: every response checked against the served OpenAPI document.
import { expect } from "chai";
import { signIntent, requestSignatureBody } from "../../src/index.ts";
import { startWorld } from "./helpers.ts";
import type { World } from "./helpers.ts";

const usd = (value: string) => ({ value, currency: "USD" });

describe("HTTP: the payment flow across parties", function () {
  this.timeout(60_000);
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  it("agent asks above the threshold → long-poll → the person approves → token → merchant verifies, redeems, refunds", async () => {
    const r = await w.call("none", "POST", "/v1/payment-intents", { intent: await w.payIntent("150.00", { idempotencyKey: "order-1" }) });
    expect(r.status).to.equal(201);
    expect(r.body).to.include({ status: "pending_approval" });
    const { paymentId, approvalId } = r.body;
    // The agent waits; the person sees the approval and approves while it waits.
    const waiting = w.call("agentA", "GET", `/v1/payments/${paymentId}?wait=20`);
    const list = await w.call("alice", "GET", "/v1/approvals");
    expect(list.body.data.map((a: { id: string }) => a.id)).to.include(approvalId);
    const approved = await w.call("alice", "POST", `/v1/approvals/${approvalId}/approve`, { note: "fine" });
    expect(approved.status).to.equal(200);
    expect(approved.body.approval.status).to.equal("approved");
    expect(approved.body.result.token, "the person's answer does not carry the agent's token").to.equal(undefined);
    const got = await waiting;
    expect(got.body.status).to.equal("authorized");
    expect(got.body.token).to.be.a("string");
    // Others do not get the token.
    expect((await w.call("alice", "GET", `/v1/payments/${paymentId}`)).body.token).to.equal(undefined);
    expect((await w.call("merchantA", "GET", `/v1/payments/${paymentId}`)).body.token).to.equal(undefined);
    // A retry of the same payment (a new signature, the same idempotencyKey) gets the same payment.
    const retry = await w.call("none", "POST", "/v1/payment-intents", { intent: await w.payIntent("150.00", { idempotencyKey: "order-1" }) });
    expect(retry.body.paymentId).to.equal(paymentId);

    const verified = await w.call("merchantA", "POST", "/v1/tokens/verify", { token: got.body.token });
    expect(verified.body).to.include({ merchantId: w.merchantA });
    expect(verified.body.amount).to.deep.equal(usd("150.00"));
    const red = await w.call("merchantA", "POST", "/v1/payments/redeem", { token: got.body.token, amount: usd("140.00") }, { "idempotency-key": "cap-1" });
    expect(red.status).to.equal(201);
    expect(red.body).to.include({ paymentId });
    expect(red.body.captured).to.deep.equal(usd("140.00"));
    expect(red.body.released).to.deep.equal(usd("10.00"));
    const again = await w.call("merchantA", "POST", "/v1/payments/redeem", { token: got.body.token, amount: usd("140.00") }, { "idempotency-key": "cap-2" });
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal("TOKEN_ALREADY_REDEEMED");
    const refund = await w.call("merchantA", "POST", `/v1/payments/${paymentId}/refunds`, { amount: usd("40.00"), reason: "seat" }, { "idempotency-key": "rf-1" });
    expect(refund.status).to.equal(201);
    const over = await w.call("merchantA", "POST", `/v1/payments/${paymentId}/refunds`, { amount: usd("100.01") }, { "idempotency-key": "rf-2" });
    expect(over.body.error.code).to.equal("REFUND_EXCEEDS_CAPTURE");
    const p = await w.call("alice", "GET", `/v1/payments/${paymentId}`);
    expect(p.body).to.include({ status: "captured" });
    expect(p.body.refunded).to.deep.equal(usd("40.00"));
  });

  it("a decline is 402 with every reason; nothing moves", async () => {
    const before = (await w.call("alice", "GET", `/v1/sub-wallets/${w.aliceSub}/balance`)).body;
    const r = await w.call("none", "POST", "/v1/payment-intents", { intent: await w.payIntent("300.01") });
    expect(r.status).to.equal(402);
    expect(r.body.error.code).to.equal("PAYMENT_DECLINED");
    expect(r.body.error.details.reasons.map((x: { code: string }) => x.code)).to.include("POLICY_PER_PAYMENT_EXCEEDED");
    expect((await w.call("alice", "GET", `/v1/sub-wallets/${w.aliceSub}/balance`)).body).to.deep.equal(before);
  });

  it("the person denies: the waiting agent sees the denial", async () => {
    const r = await w.call("none", "POST", "/v1/payment-intents", { intent: await w.payIntent("120.00") });
    const waiting = w.call("agentA", "GET", `/v1/payments/${r.body.paymentId}?wait=20`);
    await w.call("alice", "POST", `/v1/approvals/${r.body.approvalId}/deny`, { note: "no" });
    expect((await waiting).body.status).to.equal("denied");
  });

  it("agent signatures: a replay, another path, an expired one, a bearer secret for an agent are refused", async () => {
    const path = `/v1/sub-wallets/${w.aliceSub}/budget`;
    const sig = await signIntent(w.agents.agentA.jwk, { agentId: w.agents.agentA.id, nowMs: Date.now(), body: requestSignatureBody("GET", path, "") });
    const get = (p: string, auth: string) => fetch(`${w.url}${p}`, { headers: { authorization: auth } });
    expect((await get(path, `Agent ${sig}`)).status).to.equal(200);
    const replay = await get(path, `Agent ${sig}`);
    expect(replay.status).to.equal(409);
    expect(((await replay.json()) as { error: { code: string } }).error.code).to.equal("INTENT_REPLAYED");
    const other = await signIntent(w.agents.agentA.jwk, { agentId: w.agents.agentA.id, nowMs: Date.now(), body: requestSignatureBody("GET", path, "") });
    expect((await get(`/v1/sub-wallets/${w.aliceSub}`, `Agent ${other}`)).status).to.equal(401);
    const old = await signIntent(w.agents.agentA.jwk, { agentId: w.agents.agentA.id, nowMs: Date.now() - 10 * 60_000, body: requestSignatureBody("GET", path, "") });
    expect((await get(path, `Agent ${old}`)).status).to.equal(401);
    expect((await get(path, "Bearer not-a-key-at-all")).status).to.equal(401);
    expect((await get(path, "Basic dXNlcjpwYXNz")).status).to.equal(401);
  });

  it("an agent voids its own payment with a signed intent, and reads its budget; another agent's void is refused", async () => {
    const r = await w.call("none", "POST", "/v1/payment-intents", { intent: await w.payIntent("10.00") });
    const foreign = await w.intent("agentB", { action: "void", paymentId: r.body.paymentId });
    expect((await w.call("none", "POST", `/v1/payments/${r.body.paymentId}/void`, { intent: foreign })).body.error.code).to.equal("PAYMENT_NOT_FOUND");
    const mine = await w.intent("agentA", { action: "void", paymentId: r.body.paymentId });
    const v = await w.call("none", "POST", `/v1/payments/${r.body.paymentId}/void`, { intent: mine });
    expect(v.body.status).to.equal("voided");
    const budget = await w.call("agentA", "GET", `/v1/sub-wallets/${w.aliceSub}/budget`);
    expect(budget.body.daily).to.have.property("used");
  });

  it("refund requests: the agent asks, the merchant lists and grants", async () => {
    const r = await w.call("none", "POST", "/v1/payment-intents", { intent: await w.payIntent("20.00") });
    await w.call("merchantA", "POST", "/v1/payments/redeem", { token: r.body.token, amount: usd("20.00") }, { "idempotency-key": `c-${r.body.paymentId}` });
    const rr = await w.call("none", "POST", "/v1/refund-requests", {
      intent: await w.intent("agentA", { action: "refund_request", paymentId: r.body.paymentId, amount: "5.00", currency: "USD", reason: "late", idempotencyKey: "rq-x" }),
    });
    expect(rr.status).to.equal(201);
    const pending = await w.call("merchantA", "GET", "/v1/refund-requests?status=pending");
    expect(pending.body.data.map((x: { id: string }) => x.id)).to.include(rr.body.id);
    const granted = await w.call("merchantA", "POST", `/v1/refund-requests/${rr.body.id}/grant`, {}, { "idempotency-key": "g-x" });
    expect(granted.body.request.status).to.equal("granted");
    expect(granted.body.refund.amount).to.deep.equal(usd("5.00"));
  });

  it("lists page with limit and starting_after (each page validated), and a foreign cursor is refused", async () => {
    for (let i = 0; i < 5; i++) await w.call("alice", "POST", `/v1/wallets/${w.aliceWallet}/sub-wallets`, { name: `page ${i}` });
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 20; i++) {
      const res = await w.call("alice", "GET", `/v1/wallets/${w.aliceWallet}/sub-wallets?limit=2${cursor ? `&starting_after=${cursor}` : ""}`);
      seen.push(...res.body.data.map((s: { id: string }) => s.id));
      if (!res.body.hasMore) break;
      cursor = res.body.nextCursor;
    }
    expect(new Set(seen).size).to.equal(seen.length);
    expect(seen.length).to.equal((await w.call("alice", "GET", `/v1/wallets/${w.aliceWallet}/sub-wallets?limit=100`)).body.data.length);
    const payments = await w.call("alice", "GET", "/v1/payments?limit=2");
    const next = await w.call("alice", "GET", `/v1/payments?limit=2&starting_after=${payments.body.nextCursor}`);
    expect(next.body.data[0].id).to.not.equal(payments.body.data[0].id);
    expect((await w.call("alice", "GET", "/v1/payments?starting_after=pay_00000000000000")).status).to.equal(400);
  });

  it("Idempotency-Key: the same body replays, another body conflicts, 50 at once make one deposit", async () => {
    const path = `/v1/wallets/${w.aliceWallet}/deposits`;
    const before = (await w.call("alice", "GET", `/v1/wallets/${w.aliceWallet}/balance`)).body.posted.value;
    const results = await Promise.all(Array.from({ length: 50 }, () => w.call("alice", "POST", path, { amount: usd("1.00") }, { "idempotency-key": "fifty" })));
    expect(new Set(results.map((r) => r.status))).to.deep.equal(new Set([201]));
    expect(new Set(results.map((r) => r.body.id)).size).to.equal(1);
    const after = (await w.call("alice", "GET", `/v1/wallets/${w.aliceWallet}/balance`)).body.posted.value;
    expect(Number(after) - Number(before)).to.equal(1);
    const replay = await w.call("alice", "POST", path, { amount: usd("1.00") }, { "idempotency-key": "fifty" });
    expect(replay.headers.get("idempotent-replayed")).to.equal("true");
    const conflict = await w.call("alice", "POST", path, { amount: usd("2.00") }, { "idempotency-key": "fifty" });
    expect(conflict.status).to.equal(409);
    expect(conflict.body.error.code).to.equal("IDEMPOTENCY_CONFLICT");
    // Money moves need a key.
    expect((await w.call("alice", "POST", path, { amount: usd("1.00") })).status).to.equal(400);
  });

  it("200 concurrent redemptions of one token: exactly one capture", async () => {
    const r = await w.call("none", "POST", "/v1/payment-intents", { intent: await w.payIntent("50.00") });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      w.call("merchantA", "POST", "/v1/payments/redeem", { token: r.body.token, amount: usd("50.00") }, { "idempotency-key": `race-${i}` })));
    const ok = results.filter((x) => x.status === 201);
    expect(ok.length).to.equal(1);
    expect(new Set(results.filter((x) => x.status !== 201).map((x) => x.body.error.code))).to.deep.equal(new Set(["TOKEN_ALREADY_REDEEMED"]));
    expect(w.pay.ledger.check().ok).to.equal(true);
  });

  it("bad input: malformed JSON, wrong types, unknown fields, negative, fractional and huge amounts, wrong content type: clear 4xx, nothing changes", async () => {
    const path = `/v1/wallets/${w.aliceWallet}/deposits`;
    const before = (await w.call("alice", "GET", `/v1/wallets/${w.aliceWallet}/balance`)).body;
    const cases: Array<[unknown, string]> = [
      ["{not json", "INVALID_INPUT"], [{ amount: { value: 5, currency: "USD" } }, "INVALID_INPUT"], [{ amount: usd("1.00"), extra: true }, "INVALID_INPUT"],
      [{ amount: usd("-1.00") }, "INVALID_AMOUNT"], [{ amount: usd("0.001") }, "INVALID_AMOUNT"], [{ amount: usd("9".repeat(60)) }, "INVALID_AMOUNT"],
      [{ amount: { value: "1.00", currency: "XXX" } }, "UNKNOWN_CURRENCY"], [{ amount: usd("1.00e3") }, "INVALID_AMOUNT"], [[], "INVALID_INPUT"], ["null", "INVALID_INPUT"],
    ];
    let i = 0;
    for (const [body, code] of cases) {
      const res = await w.call("alice", "POST", path, body, { "idempotency-key": `bad-${i++}` });
      expect(res.status, JSON.stringify(body)).to.be.oneOf([400, 422]);
      expect(res.body.error.code, JSON.stringify(body)).to.equal(code);
    }
    const text = await fetch(`${w.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${w.keys.alice}`, "content-type": "text/plain", "idempotency-key": "t" }, body: "amount=1" });
    expect(text.status).to.equal(415);
    expect((await w.call("alice", "GET", `/v1/wallets/${w.aliceWallet}/balance`)).body).to.deep.equal(before);
    const none = await fetch(`${w.url}/v1/no-such-route`, { headers: { authorization: `Bearer ${w.keys.alice}` } });
    expect(none.status).to.equal(404);
    expect(((await none.json()) as { error: { code: string } }).error.code).to.equal("NOT_FOUND");
    expect((await w.call("alice", "GET", "/v1/wallets/not-an-id")).status).to.equal(400);
  });

  it("a 10 MB body is refused with 413 and the server keeps serving", async () => {
    const big = JSON.stringify({ name: "x".repeat(10 * 1024 * 1024) });
    const res = await fetch(`${w.url}/v1/wallets/${w.aliceWallet}/sub-wallets`, {
      method: "POST", headers: { authorization: `Bearer ${w.keys.alice}`, "content-type": "application/json" }, body: big,
    }).catch((e: unknown) => e as Error);
    if (!(res instanceof Error)) {
      expect(res.status).to.equal(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).to.equal("PAYLOAD_TOO_LARGE");
    }
    expect((await w.call("alice", "GET", `/v1/wallets/${w.aliceWallet}`)).status).to.equal(200);
  });

  it("Server-Sent Events: a person sees its approvals live, not another person's", async () => {
    const open = async (who: "alice" | "bob") => {
      const ctrl = new AbortController();
      const res = await fetch(`${w.url}/v1/events/stream?types=approval.requested`, { headers: { authorization: `Bearer ${w.keys[who]}` }, signal: ctrl.signal });
      expect(res.status).to.equal(200);
      expect(res.headers.get("content-type")).to.contain("text/event-stream");
      const reader = res.body!.getReader();
      let buf = "";
      const until = async (re: RegExp, ms: number): Promise<string | undefined> => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          const m = re.exec(buf);
          if (m) return m[0];
          const chunk = await Promise.race([reader.read(), new Promise<undefined>((r) => setTimeout(() => r(undefined), end - Date.now()))]);
          if (!chunk || chunk.done) continue;
          buf += new TextDecoder().decode(chunk.value);
        }
        return re.exec(buf)?.[0];
      };
      return { until, close: () => ctrl.abort() };
    };
    const alice = await open("alice");
    const bob = await open("bob");
    expect(await alice.until(/event: ready/, 5_000)).to.not.equal(undefined);
    const r = await w.call("none", "POST", "/v1/payment-intents", { intent: await w.payIntent("130.00") });
    const line = await alice.until(new RegExp(`data: .*${r.body.approvalId}|data: .*${r.body.paymentId}`), 5_000);
    expect(line, "alice sees the approval request").to.not.equal(undefined);
    expect(await bob.until(new RegExp(r.body.paymentId), 500)).to.equal(undefined);
    alice.close();
    bob.close();
  });

  it("risk tools are for the operator; the OpenAPI document and the reference page are served", async () => {
    const doc = await (await fetch(`${w.url}/openapi.json`)).json() as { openapi: string; paths: object };
    expect(doc.openapi).to.equal("3.1.0");
    expect(Object.keys(doc.paths).length).to.be.greaterThan(50);
    const page = await fetch(`${w.url}/docs`);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.contain("openapi.json");
    expect((await w.call("operator", "GET", "/v1/ledger/check")).body.ok).to.equal(true);
  });
});
