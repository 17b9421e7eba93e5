import { expect } from "chai";
import { AgentPay, ManualClock, requestSignatureBody, signIntent } from "../../src/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import { rejectsWith } from "../ledger/helpers.ts";

describe("api keys", () => {
  it("a secret is shown once, stored hashed, authenticates its principal until revoked; rotation keeps the old key for its grace", async () => {
    const store = new MemoryStore();
    const clock = new ManualClock();
    let pay = await AgentPay.open({ store, clock });
    const { merchant } = await pay.merchants.register({ name: "SkyAir", category: "4511" });
    const person = await pay.apiKeys.create({ kind: "person", ownerId: "alice", name: "laptop" });
    const shop = await pay.apiKeys.create({ kind: "merchant", merchantId: merchant.id });
    const op = await pay.apiKeys.create({ kind: "operator" });
    expect(person.secret).to.match(/^apk_p_/);
    expect(JSON.stringify(pay.apiKeys.list({ kind: "person", ownerId: "alice" }))).to.not.contain(person.secret);
    const stored: string[] = [];
    for await (const [k, v] of store.entries()) stored.push(k, v);
    expect(stored.join("\n")).to.not.contain(person.secret.slice(10));
    expect(pay.apiKeys.authenticate(person.secret)).to.deep.equal({ kind: "person", keyId: person.apiKey.id, ownerId: "alice" });
    expect(pay.apiKeys.authenticate(shop.secret)).to.deep.equal({ kind: "merchant", keyId: shop.apiKey.id, merchantId: merchant.id });
    expect(pay.apiKeys.authenticate(op.secret)).to.deep.equal({ kind: "operator", keyId: op.apiKey.id });
    for (const bad of [undefined, "", "apk_p_short", `${person.secret}x`, person.secret.replace("apk_p", "apk_o"), 42]) {
      expect(pay.apiKeys.authenticate(bad)).to.equal(undefined);
    }
    await pay.close();
    pay = await AgentPay.open({ store, clock });
    expect(pay.apiKeys.authenticate(person.secret)?.kind).to.equal("person");
    const rotated = await pay.apiKeys.rotate(person.apiKey.id, { grace: "10m" });
    expect(pay.apiKeys.authenticate(person.secret)?.kind).to.equal("person");
    expect(pay.apiKeys.authenticate(rotated.secret)).to.deep.include({ ownerId: "alice" });
    clock.advance(10 * 60_000);
    expect(pay.apiKeys.authenticate(person.secret)).to.equal(undefined);
    await pay.apiKeys.revoke(rotated.apiKey.id);
    expect(pay.apiKeys.authenticate(rotated.secret)).to.equal(undefined);
    await rejectsWith(pay.apiKeys.create({ kind: "person" } as never), "INVALID_ID");
    await rejectsWith(pay.apiKeys.create({ kind: "merchant", merchantId: "mer_00000000000000" }), "MERCHANT_NOT_FOUND");
    await rejectsWith(pay.apiKeys.create({ kind: "person", ownerId: "bob", merchantId: merchant.id }), "INVALID_INPUT");
    await rejectsWith(pay.apiKeys.create({ kind: "root" } as never), "INVALID_INPUT");
    await rejectsWith(pay.apiKeys.rotate(shop.apiKey.id, { grace: "9d" }), "INVALID_INPUT");
    await pay.close();
  });

  it("a key already rotated cannot be rotated again: its grace is never extended, no second replacement is minted from it", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const pay = await AgentPay.open({ memory: true, clock });
    const old = await pay.apiKeys.create({ kind: "person", ownerId: "alice" });
    const next = await pay.apiKeys.rotate(old.apiKey.id, { grace: "15m" });
    const expiresAtMs = pay.apiKeys.get(old.apiKey.id).expiresAtMs;
    // Whoever holds the old secret during its grace tries to keep it alive.
    await rejectsWith(pay.apiKeys.rotate(old.apiKey.id, { grace: "7d" }), "INVALID_INPUT");
    expect(pay.apiKeys.get(old.apiKey.id).expiresAtMs).to.equal(expiresAtMs);
    expect(pay.apiKeys.list({ kind: "person", ownerId: "alice" }).map((k) => k.id)).to.have.members([old.apiKey.id, next.apiKey.id]);
    clock.advance(15 * 60_000);
    expect(pay.apiKeys.authenticate(old.secret)).to.equal(undefined);
    // The replacement rotates as usual.
    expect((await pay.apiKeys.rotate(next.apiKey.id)).secret).to.be.a("string");
    await pay.close();
  });
});

describe("agents: request signatures", () => {
  it("bind method, path and body digest; a replay, another request, an expired or foreign signature is refused", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const pay = await AgentPay.open({ memory: true, clock });
    const { agent, privateKeyJwk } = await pay.agents.register({ name: "bot", ownerId: "alice" });
    expect(agent.ownerId).to.equal("alice");
    const req = { method: "GET", path: "/v1/payments/pay_0000000000000000?wait=30", body: "" };
    const body = requestSignatureBody(req.method, req.path, req.body);
    const sig = await signIntent(privateKeyJwk!, { agentId: agent.id, nowMs: clock.nowMs(), body });
    expect(await pay.agents.authenticateRequest(sig, { method: "GET", path: req.path, bodySha256: body.bodySha256 })).to.include({ agentId: agent.id });
    await rejectsWith(pay.agents.authenticateRequest(sig, { method: "GET", path: req.path, bodySha256: body.bodySha256 }), "INTENT_REPLAYED");
    const sig2 = await signIntent(privateKeyJwk!, { agentId: agent.id, nowMs: clock.nowMs(), body });
    await rejectsWith(pay.agents.authenticateRequest(sig2, { method: "POST", path: req.path, bodySha256: body.bodySha256 }), "REQUEST_SIGNATURE_INVALID");
    await rejectsWith(pay.agents.authenticateRequest(sig2, { method: "GET", path: "/v1/payments", bodySha256: body.bodySha256 }), "REQUEST_SIGNATURE_INVALID");
    await rejectsWith(pay.agents.authenticateRequest(sig2, { method: "GET", path: req.path, bodySha256: requestSignatureBody("GET", "/", "x").bodySha256 }), "REQUEST_SIGNATURE_INVALID");
    // A refused signature is not consumed: the right request still goes through with it.
    expect((await pay.agents.authenticateRequest(sig2, { method: "GET", path: req.path, bodySha256: body.bodySha256 })).agentId).to.equal(agent.id);
    const old = await signIntent(privateKeyJwk!, { agentId: agent.id, nowMs: clock.nowMs() - 10 * 60_000, body });
    await rejectsWith(pay.agents.authenticateRequest(old, { method: "GET", path: req.path, bodySha256: body.bodySha256 }), "INTENT_EXPIRED");
    const pay2 = await signIntent(privateKeyJwk!, { agentId: agent.id, nowMs: clock.nowMs(), body: { action: "pay" } });
    await rejectsWith(pay.agents.authenticateRequest(pay2, { method: "GET", path: req.path, bodySha256: body.bodySha256 }), "REQUEST_SIGNATURE_INVALID");
    await pay.close();
  });
});
