import { expect } from "chai";
import { ManualClock } from "../../src/core/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import { acceptIntent, checkGrant, revokeGrant, signIntent, useGrant } from "../../src/agents/index.ts";
import type { CreateGrantInput, Grant, GrantScope, KeyResult } from "../../src/agents/index.ts";
import { SUB, SUB2, openWorld, rejection, snapshot } from "./helpers.ts";
import type { World } from "./helpers.ts";

const HOUR = 3_600_000;

describe("agents: grants", () => {
  let w: World;
  let a: KeyResult;
  beforeEach(async () => {
    w = await openWorld();
    a = await w.agents.register({ name: "trip-planner" });
  });
  afterEach(async () => {
    await w.engine.close();
  });

  const create = (over: Partial<CreateGrantInput> = {}) =>
    w.grants.create({ subWalletId: SUB, agentId: a.agent.id, scopes: ["pay"], mode: "persistent", ...over });
  const check = (scope: GrantScope = "pay", extra: { grantId?: string; subWalletId?: string; agentId?: string } = {}) =>
    w.engine.submit((tx) => checkGrant(tx, { agentId: a.agent.id, subWalletId: SUB, scope, ...extra }));
  const use = (scope: GrantScope = "pay") =>
    w.engine.submit((tx) => useGrant(tx, checkGrant(tx, { agentId: a.agent.id, subWalletId: SUB, scope })));

  it("creates, gets and lists grants", async () => {
    const g = await create({ scopes: ["pay", "balance:read"] });
    expect(g.id).to.match(/^gnt_/);
    expect(g).to.deep.include({ subWalletId: SUB, agentId: a.agent.id, mode: "persistent", status: "active", uses: 0 });
    expect(g.scopes).to.deep.equal(["pay", "balance:read"]);
    expect(g.expiresAtMs).to.equal(undefined);
    expect(w.grants.get(g.id)).to.deep.equal(g);
    const g2 = await create({ subWalletId: SUB2 });
    const b = await w.agents.register({ name: "b" });
    const g3 = await w.grants.create({ subWalletId: SUB, agentId: b.agent.id, scopes: ["statement:read"], mode: "persistent" });
    expect(w.grants.list().map((x) => x.id)).to.deep.equal([g.id, g2.id, g3.id]);
    expect(w.grants.list({ agentId: a.agent.id }).map((x) => x.id)).to.deep.equal([g.id, g2.id]);
    expect(w.grants.list({ subWalletId: SUB }).map((x) => x.id)).to.deep.equal([g.id, g3.id]);
    expect(w.grants.list({ agentId: a.agent.id, subWalletId: SUB2 }).map((x) => x.id)).to.deep.equal([g2.id]);
    await w.grants.revoke(g2.id);
    expect(w.grants.list({ agentId: a.agent.id, activeOnly: true }).map((x) => x.id)).to.deep.equal([g.id]);
  });

  describe("bad input is refused and changes nothing", () => {
    const cases: Array<[string, Partial<CreateGrantInput> | (() => Partial<CreateGrantInput>), string]> = [
      ["bad mode", { mode: "forever" as never }, "INVALID_INPUT"],
      ["no scopes", { scopes: [] }, "INVALID_INPUT"],
      ["unknown scope", { scopes: ["pay", "withdraw" as never] }, "INVALID_INPUT"],
      ["scopes not a list", { scopes: "pay" as never }, "INVALID_INPUT"],
      ["both expiries", { expiresIn: "1h", expiresAtMs: Date.UTC(2030, 0, 1) }, "INVALID_INPUT"],
      ["bad duration", { expiresIn: "1 day" }, "INVALID_INPUT"],
      ["zero duration", { expiresIn: "0s" }, "INVALID_INPUT"],
      ["expiry in the past", { expiresAtMs: Date.UTC(2020, 0, 1) }, "INVALID_INPUT"],
      ["maxUses 0", { maxUses: 0 }, "INVALID_INPUT"],
      ["maxUses fractional", { maxUses: 1.5 }, "INVALID_INPUT"],
      ["bad agent id", { agentId: "wal_0123456789abcdef" }, "INVALID_ID"],
      ["unknown agent", { agentId: "agt_0123456789abcdefghjk" }, "AGENT_NOT_FOUND"],
      ["bad sub-wallet id", { subWalletId: "travel" }, "INVALID_ID"],
    ];
    for (const [name, over, code] of cases) {
      it(name, async () => {
        const before = snapshot(w.engine);
        const e = await rejection(create(typeof over === "function" ? over() : over));
        expect(e.code, e.message).to.equal(code);
        expect(snapshot(w.engine)).to.equal(before);
      });
    }
  });

  it("refuses a grant to a disabled agent, or over a sub-wallet the hook does not know", async () => {
    await w.engine.close();
    w = await openWorld({ grants: { subWalletExists: (_tx, id) => id === SUB } });
    a = await w.agents.register({ name: "a" });
    expect((await rejection(create({ subWalletId: SUB2 }))).code).to.equal("INVALID_INPUT");
    await create();
    await w.agents.disable(a.agent.id);
    expect((await rejection(create())).code).to.equal("AGENT_DISABLED");
  });

  it("checkGrant: GRANT_NOT_FOUND without a grant, for another agent's grant, or another sub-wallet", async () => {
    expect((await rejection(check())).code).to.equal("GRANT_NOT_FOUND");
    const g = await create();
    expect((await rejection(check("pay", { subWalletId: SUB2 }))).code).to.equal("GRANT_NOT_FOUND");
    expect((await rejection(check("pay", { subWalletId: SUB2, grantId: g.id }))).code).to.equal("GRANT_NOT_FOUND");
    const b = await w.agents.register({ name: "b" });
    expect((await rejection(check("pay", { agentId: b.agent.id, grantId: g.id }))).code).to.equal("GRANT_NOT_FOUND");
    expect((await rejection(check("pay", { agentId: b.agent.id }))).code).to.equal("GRANT_NOT_FOUND");
    expect((await check("pay", { grantId: g.id })).id).to.equal(g.id);
    expect((await check()).id).to.equal(g.id);
  });

  it("scopes: only the granted ones pass; GRANT_SCOPE_MISSING otherwise", async () => {
    const g = await create({ scopes: ["balance:read", "statement:read"] });
    expect((await check("balance:read")).id).to.equal(g.id);
    expect((await check("statement:read")).id).to.equal(g.id);
    expect((await rejection(check("pay"))).code).to.equal("GRANT_SCOPE_MISSING");
    expect((await rejection(check("refund:request", { grantId: g.id }))).code).to.equal("GRANT_SCOPE_MISSING");
    const g2 = await create({ scopes: ["pay", "refund:request"] });
    expect((await check("pay")).id).to.equal(g2.id);
    expect((await check("refund:request")).id).to.equal(g2.id);
  });

  it("session grants expire after their TTL (GRANT_EXPIRED)", async () => {
    const g = await create({ mode: "session", expiresIn: "1h" });
    expect(g.expiresAtMs).to.equal(w.clock.nowMs() + HOUR);
    w.clock.advance(HOUR - 1);
    await use();
    w.clock.advance(1);
    const before = snapshot(w.engine);
    expect((await rejection(use())).code).to.equal("GRANT_EXPIRED");
    expect(snapshot(w.engine)).to.equal(before);
    expect(w.grants.get(g.id).uses).to.equal(1);
  });

  it("a session grant without an expiry gets the default session TTL; expiresAtMs is honoured", async () => {
    const g = await create({ mode: "session" });
    expect(g.expiresAtMs).to.equal(w.clock.nowMs() + 24 * HOUR);
    const at = w.clock.nowMs() + 5 * HOUR;
    const g2 = await create({ expiresAtMs: at });
    expect(g2.expiresAtMs).to.equal(at);
  });

  it("maxUses: the grant is exhausted after its last use (GRANT_EXHAUSTED)", async () => {
    const g = await create({ mode: "session", expiresIn: "24h", maxUses: 3 });
    for (let i = 1; i <= 3; i++) expect((await use()).uses).to.equal(i);
    const before = snapshot(w.engine);
    expect((await rejection(use())).code).to.equal("GRANT_EXHAUSTED");
    expect(snapshot(w.engine)).to.equal(before);
    const got = w.grants.get(g.id);
    expect(got.uses).to.equal(3);
    expect(got.lastUsedAtMs).to.equal(w.clock.nowMs());
  });

  it("maxUses holds under many concurrent uses", async () => {
    await create({ maxUses: 7 });
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => use()));
    expect(results.filter((r) => r.status === "fulfilled")).to.have.length(7);
    for (const r of results) if (r.status === "rejected") expect(r.reason.code).to.equal("GRANT_EXHAUSTED");
  });

  it("revoke takes effect at once, is idempotent, and unknown grants are GRANT_NOT_FOUND", async () => {
    const g = await create();
    await use();
    const r = await w.grants.revoke(g.id);
    expect(r.status).to.equal("revoked");
    expect(r.revokedAtMs).to.equal(w.clock.nowMs());
    expect((await rejection(use())).code).to.equal("GRANT_REVOKED");
    expect((await rejection(check("pay", { grantId: g.id }))).code).to.equal("GRANT_REVOKED");
    expect((await w.grants.revoke(g.id)).revokedAtMs).to.equal(r.revokedAtMs);
    expect((await rejection(w.grants.revoke("gnt_0123456789abcdefghjk"))).code).to.equal("GRANT_NOT_FOUND");
    expect((await rejection(w.grants.revoke("nope"))).code).to.equal("INVALID_ID");
  });

  it("with several grants: uses the usable one expiring soonest, and reports the most specific failure", async () => {
    const persistent = await create();
    const session = await create({ mode: "session", expiresIn: "1h" });
    expect((await check()).id).to.equal(session.id);
    w.clock.advance(HOUR);
    expect((await check()).id).to.equal(persistent.id);
    await w.grants.revoke(persistent.id);
    expect((await rejection(check())).code).to.equal("GRANT_EXPIRED");
    await create({ scopes: ["balance:read"] });
    expect((await rejection(check())).code).to.equal("GRANT_SCOPE_MISSING");
  });

  it("a disabled agent's grants stop working at once (AGENT_DISABLED)", async () => {
    await create();
    await w.agents.disable(a.agent.id);
    expect((await rejection(use())).code).to.equal("AGENT_DISABLED");
  });

  it("lists grants expiring within a window (for notifications)", async () => {
    const soon = await create({ mode: "session", expiresIn: "30m" });
    const later = await create({ mode: "session", expiresIn: "3h" });
    await create(); // never expires
    const revoked = await create({ mode: "session", expiresIn: "10m" });
    await w.grants.revoke(revoked.id);
    const exhausted = await create({ mode: "session", expiresIn: "20m", maxUses: 1 });
    await w.engine.submit((tx) => useGrant(tx, checkGrant(tx, { grantId: exhausted.id, agentId: a.agent.id, subWalletId: SUB, scope: "pay" })));
    expect(w.grants.expiringWithin(HOUR).map((g) => g.id)).to.deep.equal([soon.id]);
    expect(w.grants.expiringWithin(4 * HOUR).map((g) => g.id)).to.deep.equal([soon.id, later.id]);
    expect(w.grants.expiringWithin(4 * HOUR, { limit: 1 }).map((g) => g.id)).to.deep.equal([soon.id]);
    // The filter runs before the limit, so grants already handled never crowd out the rest.
    expect(w.grants.expiringWithin(4 * HOUR, { limit: 1, where: (g) => g.id !== soon.id }).map((g) => g.id)).to.deep.equal([later.id]);
    w.clock.advance(HOUR);
    expect(w.grants.expiringWithin(HOUR).map((g) => g.id)).to.deep.equal([]);
    expect(w.grants.expiringWithin(3 * HOUR).map((g) => g.id)).to.deep.equal([later.id]);
    expect(() => w.grants.expiringWithin(-1)).to.throw().with.property("code", "INVALID_INPUT");
  });

  it("bounds the grants per agent and sub-wallet, forgetting dead ones first", async () => {
    await w.engine.close();
    w = await openWorld({ grants: { maxGrantsPerPair: 3 } });
    a = await w.agents.register({ name: "a" });
    const gs: Grant[] = [];
    for (let i = 0; i < 3; i++) gs.push(await create());
    expect((await rejection(create())).code).to.equal("GRANT_LIMIT_REACHED");
    await w.grants.revoke(gs[0]!.id);
    const g4 = await create();
    expect(w.engine.read<{ grantIds: string[] }>(`gx/${a.agent.id}/${SUB}`)!.grantIds).to.deep.equal([gs[1]!.id, gs[2]!.id, g4.id]);
  });

  it("grants and their uses survive a reopen", async () => {
    await w.engine.close();
    const store = new MemoryStore();
    const clock = new ManualClock();
    w = await openWorld({ store, clock });
    a = await w.agents.register({ name: "a" });
    const g = await create({ maxUses: 2 });
    await use();
    await w.engine.close();
    w = await openWorld({ store, clock });
    expect(w.grants.list().map((x) => [x.id, x.uses])).to.deep.equal([[g.id, 1]]);
    await use();
    expect((await rejection(use())).code).to.equal("GRANT_EXHAUSTED");
  });

  describe("revoked while 100 of its agent's intents are queued", () => {
    it("in a fixed order: every command queued after the revocation is refused", async () => {
      const g = await create();
      const signed = await Promise.all(Array.from({ length: 100 }, (_, i) =>
        signIntent(a.privateKeyJwk!, { agentId: a.agent.id, body: { amount: "1.00", i }, nowMs: w.clock.nowMs() })));
      const verified = await Promise.all(signed.map((jws) => w.agents.verifyIntent(jws)));
      const pay = (i: number) => w.engine.submit((tx) => {
        acceptIntent(tx, verified[i]!);
        const grant = checkGrant(tx, { agentId: a.agent.id, subWalletId: SUB, scope: "pay" });
        return useGrant(tx, grant).uses;
      });
      const before: Array<Promise<number>> = [];
      const after: Array<Promise<number>> = [];
      for (let i = 0; i < 50; i++) before.push(pay(i));
      const revoke = w.grants.revoke(g.id);
      for (let i = 50; i < 100; i++) after.push(pay(i));
      expect(w.engine.stats.queued).to.equal(101); // all queued before any ran
      const [b, r, af] = await Promise.all([
        Promise.allSettled(before), revoke, Promise.allSettled(after),
      ]);
      expect(b.every((x) => x.status === "fulfilled")).to.equal(true);
      expect(r.status).to.equal("revoked");
      expect(af.map((x) => (x.status === "rejected" ? x.reason.code : "ok"))).to.deep.equal(Array(50).fill("GRANT_REVOKED"));
      expect(w.grants.get(g.id).uses).to.equal(50);
      // the refused intents consumed nothing: no nonce was recorded for them
      expect([...w.engine.scan(`nn/${a.agent.id}/`)]).to.have.length(50);
    });

    it("racing real receiveIntent calls: what ran before the revocation succeeded, nothing after it did", async () => {
      const g = await create();
      const signed = await Promise.all(Array.from({ length: 100 }, (_, i) =>
        signIntent(a.privateKeyJwk!, { agentId: a.agent.id, body: { amount: "1.00", i }, nowMs: w.clock.nowMs() })));
      let seq = 0;
      let revokeSeq = Infinity;
      let revoke: Promise<unknown> | undefined;
      const outcome: Array<{ seq: number; ok: boolean }> = [];
      const calls = signed.map((jws) => w.agents.receiveIntent(jws, (tx) => {
        const mySeq = ++seq;
        // Fire the revocation from the middle of the stream, while other intents are still being verified.
        if (mySeq === 30) queueMicrotask(() => { revoke = w.engine.submit((t) => { revokeSeq = ++seq; return revokeGrant(t, g.id); }); });
        try {
          useGrant(tx, checkGrant(tx, { agentId: a.agent.id, subWalletId: SUB, scope: "pay" }));
          outcome.push({ seq: mySeq, ok: true });
        } catch (e) {
          outcome.push({ seq: mySeq, ok: false });
          throw e;
        }
      }));
      const results = await Promise.allSettled(calls);
      await revoke;
      expect(revokeSeq).to.be.lessThan(Infinity);
      expect(outcome).to.have.length(100);
      for (const o of outcome) expect(o.ok, `command #${o.seq} vs revocation #${revokeSeq}`).to.equal(o.seq < revokeSeq);
      const ok = results.filter((x) => x.status === "fulfilled").length;
      for (const x of results) if (x.status === "rejected") expect(x.reason.code).to.equal("GRANT_REVOKED");
      expect(ok).to.be.at.least(30);
      expect(w.grants.get(g.id).uses).to.equal(ok);
      expect(w.grants.get(g.id).status).to.equal("revoked");
    });
  });
});
