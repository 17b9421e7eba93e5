import { inspect } from "node:util";
import { expect } from "chai";
import { AgentPayError, ManualClock } from "../../src/core/index.ts";
import { Engine, MemoryStore } from "../../src/engine/index.ts";
import { TokenIssuer, TokenKeyRing, TOKEN_KEY_PREFIX, verifyTokenOffline } from "../../src/tokens/index.ts";
import { ISSUER, NOW_MS, ids, mintInput, openTokens, throwsCode } from "./helpers.ts";

const HOUR = 3_600_000;
const GRACE = 5 * 60_000;

/** Every private scalar the ring's engine holds (read straight from its records, as an attacker with the store would). */
function privateScalars(engine: Engine): string[] {
  const out: string[] = [];
  for (const [key, rec] of engine.scan<{ privateJwk?: { d: string } }>(TOKEN_KEY_PREFIX)) {
    if (key !== "tk/active") out.push(rec.privateJwk!.d);
  }
  return out;
}

describe("tokens: key ring", () => {
  it("generates one Ed25519 key on init and publishes only its public part", async () => {
    const s = await openTokens(new MemoryStore(), new ManualClock(NOW_MS));
    const info = await s.ring.init(); // again: nothing new
    expect(s.ring.keys()).to.have.length(1);
    expect(info).to.deep.equal(s.ring.active());
    expect(info).to.include({ alg: "EdDSA", active: true, createdAtMs: NOW_MS });
    expect(info.kid).to.match(/^tkey_[0-9a-z]{26}$/);
    const jwks = s.ring.jwks();
    expect(jwks.keys).to.have.length(1);
    expect(Object.keys(jwks.keys[0]!).sort()).to.deep.equal(["alg", "crv", "kid", "kty", "use", "x"]);
    expect(jwks.keys[0]).to.include({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig", kid: info.kid });
    expect(s.issuer.jwks()).to.deep.equal(jwks);
  });

  it("ES256 rings publish kty EC, crv P-256, x and y, and sign ES256 tokens", async () => {
    const s = await openTokens(new MemoryStore(), new ManualClock(NOW_MS), { alg: "ES256" });
    const jwk = s.ring.jwks().keys[0]!;
    expect(Object.keys(jwk).sort()).to.deep.equal(["alg", "crv", "kid", "kty", "use", "x", "y"]);
    expect(jwk).to.include({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    const t = s.issuer.mint(mintInput());
    expect(JSON.parse(Buffer.from(t.token.split(".")[0]!, "base64url").toString()).alg).to.equal("ES256");
    expect(s.issuer.verify(t.token, { merchantId: ids.merchant }).alg).to.equal("ES256");
  });

  it("concurrent init creates exactly one key", async () => {
    const engine = Engine.create({ store: new MemoryStore(), clock: new ManualClock(NOW_MS) });
    const ring = new TokenKeyRing(engine);
    await engine.load();
    const infos = await Promise.all([ring.init(), ring.init(), ring.init()]);
    expect(new Set(infos.map((i) => i.kid)).size).to.equal(1);
    expect(ring.keys()).to.have.length(1);
  });

  it("refuses to mint before init, with TOKEN_ISSUER_NOT_READY", async () => {
    const engine = Engine.create({ store: new MemoryStore() });
    const ring = new TokenKeyRing(engine);
    await engine.load();
    const issuer = new TokenIssuer(ring, { issuer: ISSUER });
    throwsCode(() => issuer.mint(mintInput()), "TOKEN_ISSUER_NOT_READY");
    throwsCode(() => ring.active(), "TOKEN_ISSUER_NOT_READY");
    expect(ring.jwks().keys).to.deep.equal([]);
  });

  it("refuses bad options", () => {
    const engine = Engine.create({ store: new MemoryStore() });
    throwsCode(() => new TokenKeyRing(engine, { alg: "HS256" as never }), "INVALID_INPUT");
    throwsCode(() => new TokenKeyRing(engine, { maxTokenTtlMs: 2 * HOUR }), "INVALID_INPUT");
    throwsCode(() => new TokenKeyRing(engine, { maxTokenTtlMs: 0 }), "INVALID_INPUT");
    throwsCode(() => new TokenKeyRing(engine, { retireGraceMs: -1 }), "INVALID_INPUT");
    throwsCode(() => new TokenKeyRing(engine, null as never), "INVALID_INPUT");
  });

  describe("rotation", () => {
    it("the new key signs; the old one verifies until its last token has expired, then neither verifies nor is published", async () => {
      const s = await openTokens(new MemoryStore(), new ManualClock(NOW_MS));
      const oldKid = s.ring.active().kid;
      // the longest-lived token the old key can sign, minted just before rotation
      const oldToken = s.issuer.mint(mintInput({ ttlMs: HOUR })).token;

      s.clock.advance(1_000);
      const rotatedAt = s.clock.nowMs();
      const fresh = await s.ring.rotate();
      expect(fresh.kid).to.not.equal(oldKid);
      expect(s.ring.active().kid).to.equal(fresh.kid);
      const old = s.ring.keys().find((k) => k.kid === oldKid)!;
      expect(old).to.include({ active: false, retiredAtMs: rotatedAt, retireAfterMs: rotatedAt + HOUR + GRACE });

      const newToken = s.issuer.mint(mintInput()).token;
      expect(JSON.parse(Buffer.from(newToken.split(".")[0]!, "base64url").toString()).kid).to.equal(fresh.kid);
      expect(s.ring.jwks().keys.map((k) => k.kid)).to.deep.equal([fresh.kid, oldKid]);

      // still verifying, both at the issuer and offline from the published JWKS
      s.clock.set(NOW_MS + HOUR - 1);
      expect(s.issuer.verify(oldToken, { merchantId: ids.merchant }).kid).to.equal(oldKid);
      expect(verifyTokenOffline(oldToken, s.ring.jwks(), { audience: ids.merchant, nowMs: s.clock.nowMs() }).kid).to.equal(oldKid);
      s.clock.set(NOW_MS + HOUR);
      throwsCode(() => s.issuer.verify(oldToken, { merchantId: ids.merchant }), "TOKEN_EXPIRED");

      // once retireAfterMs has passed the key is gone from the JWKS and resolves nothing
      s.clock.set(rotatedAt + HOUR + GRACE - 1);
      expect(s.ring.jwks().keys.map((k) => k.kid)).to.deep.equal([fresh.kid, oldKid]);
      s.clock.set(rotatedAt + HOUR + GRACE);
      expect(s.ring.jwks().keys.map((k) => k.kid)).to.deep.equal([fresh.kid]);
      throwsCode(() => s.issuer.verify(oldToken, { merchantId: ids.merchant }), "TOKEN_KEY_UNKNOWN");
      throwsCode(() => verifyTokenOffline(oldToken, s.ring.jwks(), { audience: ids.merchant, nowMs: NOW_MS + 1_000 }), "TOKEN_KEY_UNKNOWN");
      // the active key never retires, however old
      s.clock.advance(365 * 24 * HOUR);
      expect(s.ring.jwks().keys.map((k) => k.kid)).to.deep.equal([fresh.kid]);
    });

    it("retires on the ring's configured maximum lifetime and grace; can switch algorithm", async () => {
      const s = await openTokens(new MemoryStore(), new ManualClock(NOW_MS), { maxTokenTtlMs: 600_000, retireGraceMs: 0 });
      const first = s.ring.active().kid;
      const t = s.issuer.mint(mintInput()).token;
      const es = await s.ring.rotate({ alg: "ES256" });
      expect(es.alg).to.equal("ES256");
      expect(s.ring.keys().find((k) => k.kid === first)!.retireAfterMs).to.equal(NOW_MS + 600_000);
      expect(s.issuer.verify(t, { merchantId: ids.merchant }).alg).to.equal("EdDSA");
      expect(s.issuer.mint(mintInput()).alg).to.equal("ES256");
      await Promise.all([s.ring.rotate(), s.ring.rotate()]);
      expect(s.ring.keys()).to.have.length(4);
      expect(s.ring.keys().filter((k) => k.active)).to.have.length(1);
      expect(s.ring.keys().filter((k) => k.retiredAtMs === undefined)).to.have.length(1);
      const err = await s.ring.rotate({ alg: "none" as never }).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(AgentPayError).with.property("code", "INVALID_INPUT");
      expect(s.ring.keys()).to.have.length(4);
    });

    it("prune deletes only expired retired keys' records", async () => {
      const s = await openTokens(new MemoryStore(), new ManualClock(NOW_MS));
      const first = s.ring.active().kid;
      await s.ring.rotate();
      expect(await s.ring.prune()).to.equal(0);
      s.clock.advance(HOUR + GRACE);
      const second = s.ring.active().kid;
      await s.ring.rotate();
      expect(await s.ring.prune()).to.equal(1);
      expect(s.ring.keys().map((k) => k.kid)).to.not.include(first);
      expect(s.ring.keys().map((k) => k.kid)).to.include(second);
      expect(s.engine.read(`tk/${first}`)).to.equal(undefined);
    });
  });

  describe("persistence", () => {
    it("keys, the active key and retirements survive close and reopen on the same store", async () => {
      const store = new MemoryStore();
      const clock = new ManualClock(NOW_MS);
      const a = await openTokens(store, clock);
      const firstKid = a.ring.active().kid;
      const before = a.issuer.mint(mintInput()).token;
      await a.ring.rotate();
      const activeKid = a.ring.active().kid;
      const after = a.issuer.mint(mintInput()).token;
      const keysBefore = a.ring.keys();
      const jwksBefore = JSON.stringify(a.ring.jwks());
      await a.engine.close();

      const b = await openTokens(store, clock); // init() finds the active key: no new key
      expect(b.ring.active().kid).to.equal(activeKid);
      expect(b.ring.keys()).to.deep.equal(keysBefore);
      expect(JSON.stringify(b.ring.jwks())).to.equal(jwksBefore);
      expect(b.issuer.verify(before, { merchantId: ids.merchant }).kid).to.equal(firstKid);
      expect(b.issuer.verify(after, { merchantId: ids.merchant }).kid).to.equal(activeKid);
      // and it keeps signing with the same key
      const again = b.issuer.mint(mintInput());
      expect(again.kid).to.equal(activeKid);
      expect(a.issuer.verify(again.token, { merchantId: ids.merchant }).kid).to.equal(activeKid);
      expect(store.size).to.equal(3); // two keys and the active pointer
    });

    it("a key retires after the longest lifetime it was ever allowed to sign, even if a later run lowers the cap", async () => {
      const store = new MemoryStore();
      const clock = new ManualClock(NOW_MS);
      const a = await openTokens(store, clock, { maxTokenTtlMs: 600_000 });
      const kid = a.ring.active().kid;
      await a.engine.close();
      const b = await openTokens(store, clock, { maxTokenTtlMs: HOUR }); // init raises the key's cap
      const long = b.issuer.mint(mintInput({ ttlMs: HOUR }));
      expect(long.kid).to.equal(kid);
      await b.engine.close();
      const c = await openTokens(store, clock, { maxTokenTtlMs: 600_000, retireGraceMs: 0 });
      await c.ring.rotate();
      expect(c.ring.keys().find((k) => k.kid === kid)!.retireAfterMs).to.equal(NOW_MS + HOUR);
      clock.set(NOW_MS + HOUR - 1);
      expect(c.issuer.verify(long.token, { merchantId: ids.merchant }).kid).to.equal(kid);
    });

    it("a reopened ring signs nothing until init() has run", async () => {
      const store = new MemoryStore();
      await (await openTokens(store)).engine.close();
      const engine = Engine.create({ store });
      const ring = new TokenKeyRing(engine);
      await engine.load();
      const issuer = new TokenIssuer(ring, { issuer: ISSUER });
      throwsCode(() => issuer.mint(mintInput()), "TOKEN_ISSUER_NOT_READY");
      await ring.init();
      expect(issuer.mint(mintInput()).kid).to.equal(ring.active().kid);
    });

    it("a rotation whose write failed leaves the old key active in memory after reopen", async () => {
      const store = new MemoryStore();
      const clock = new ManualClock(NOW_MS);
      const a = await openTokens(store, clock);
      const kid = a.ring.active().kid;
      store.failNextWrite = true;
      let err: unknown;
      try {
        await a.ring.rotate();
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(AgentPayError);
      const b = await openTokens(store, clock);
      expect(b.ring.active().kid).to.equal(kid);
      expect(b.ring.keys()).to.have.length(1);
    });
  });

  describe("secrets", () => {
    it("private keys never appear in JSON.stringify or util.inspect of the ring, the issuer, tokens, JWKS or errors", async () => {
      const s = await openTokens(new MemoryStore(), new ManualClock(NOW_MS));
      await s.ring.rotate({ alg: "ES256" });
      const secrets = privateScalars(s.engine);
      expect(secrets).to.have.length(2);
      for (const d of secrets) expect(d).to.match(/^[A-Za-z0-9_-]{43}$/);

      const minted = s.issuer.mint(mintInput());
      const errors: unknown[] = [];
      for (const attempt of [
        () => s.issuer.verify(minted.token, { merchantId: ids.otherMerchant }),
        () => s.issuer.verify(minted.token.slice(0, -4) + "AAAA", { merchantId: ids.merchant }),
        () => s.issuer.verify("garbage", { merchantId: ids.merchant }),
        () => s.issuer.mint(mintInput({ category: "x" })),
        () => new TokenKeyRing(s.engine, { alg: "x" as never }),
      ]) {
        try {
          attempt();
        } catch (e) {
          errors.push(e);
        }
      }
      expect(errors).to.have.length(5);

      const surfaces = [
        JSON.stringify(s.ring), inspect(s.ring, { depth: 10, showHidden: true }), String(s.ring),
        JSON.stringify(s.issuer), inspect(s.issuer, { depth: 10, showHidden: true }),
        JSON.stringify(s.ring.jwks()), JSON.stringify(s.ring.keys()), inspect(s.ring.keys(), { depth: 10 }),
        JSON.stringify({ ...minted, amount: minted.amount.minor.toString() }), inspect(minted, { depth: 10 }),
        ...errors.flatMap((e) => [JSON.stringify(e), inspect(e, { depth: 10, showHidden: true }), String(e)]),
      ];
      for (const text of surfaces) for (const d of secrets) expect(text).not.to.include(d);
      expect(JSON.stringify(s.ring.jwks())).not.to.match(/"d"/);
    });
  });
});
