import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompactSign, exportJWK, generateKeyPair, importJWK } from "jose";
import { ManualClock } from "../../src/core/index.ts";
import { LevelStore, MemoryStore } from "../../src/engine/index.ts";
import {
  INTENT_TYP, acceptIntent, consumeNonce, nonceKey, signIntent, thumbprint,
} from "../../src/agents/index.ts";
import type { AgentPrivateJwk, KeyResult } from "../../src/agents/index.ts";
import { openWorld, rejection, snapshot } from "./helpers.ts";
import type { World } from "./helpers.ts";

const BODY = { merchant: "mer_0123456789abcdef", amount: "120.00", currency: "USD", reference: "order-42" };
const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString("base64url");

/** Signs arbitrary header/payload bytes with a private JWK (to build malformed-but-signed intents). */
async function rawSign(priv: AgentPrivateJwk, header: Record<string, unknown>, payload: unknown): Promise<string> {
  const key = await importJWK({ ...priv }, priv.alg);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader(header as never).sign(key);
}

describe("agents: signed intents", () => {
  let w: World;
  let a: KeyResult;
  let priv: AgentPrivateJwk;
  beforeEach(async () => {
    w = await openWorld();
    a = await w.agents.register({ name: "trip-planner" });
    priv = a.privateKeyJwk!;
  });
  afterEach(async () => {
    await w.engine.close();
  });

  const sign = (body: unknown = BODY, extra: { nowMs?: number; nonce?: string } = {}) =>
    signIntent(priv, { agentId: a.agent.id, kid: a.kid, body, nowMs: extra.nowMs ?? w.clock.nowMs(), ...(extra.nonce ? { nonce: extra.nonce } : {}) });

  /** Expects `jws` to be refused with `code` and nothing in the state to change. */
  async function refused(jws: unknown, code: string): Promise<void> {
    const before = snapshot(w.engine);
    const e = await rejection(w.agents.receiveIntent(jws as string));
    expect(e.code, e.message).to.equal(code);
    expect(snapshot(w.engine)).to.equal(before);
  }

  it("signs and verifies an intent; the header and claims have the documented shape", async () => {
    const jws = await sign();
    const [h, p] = jws.split(".");
    expect(JSON.parse(Buffer.from(h!, "base64url").toString())).to.deep.equal({ alg: "EdDSA", typ: INTENT_TYP, kid: a.kid });
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
    expect(Object.keys(claims)).to.deep.equal(["iss", "iat", "nonce", "body"]);
    expect(claims.iss).to.equal(a.agent.id);
    expect(claims.iat).to.equal(Math.floor(w.clock.nowMs() / 1000));
    expect(Buffer.from(claims.nonce, "base64url").length).to.be.at.least(16);
    const v = await w.agents.receiveIntent(jws);
    expect(v).to.deep.include({ agentId: a.agent.id, kid: a.kid, alg: "EdDSA", nonce: claims.nonce });
    expect(v.body).to.deep.equal(BODY);
    expect(w.engine.read(nonceKey(a.agent.id, claims.nonce))).to.deep.equal({ agentId: a.agent.id, iatMs: claims.iat * 1000 });
  });

  it("works with a P-256 key registered as a public JWK", async () => {
    const pair = await generateKeyPair("ES256", { extractable: true });
    const pub = await exportJWK(pair.publicKey);
    const p = await w.agents.register({ name: "p256", publicKeyJwk: pub });
    const privJwk = await exportJWK(pair.privateKey);
    const jws = await signIntent(privJwk, { agentId: p.agent.id, kid: p.kid, body: BODY, nowMs: w.clock.nowMs() });
    expect((await w.agents.receiveIntent(jws)).alg).to.equal("ES256");
    // P-256: a changed payload, a truncated or a DER-encoded signature never verifies.
    const fresh = await signIntent(privJwk, { agentId: p.agent.id, kid: p.kid, body: BODY, nowMs: w.clock.nowMs() });
    const [h, pl, sig] = fresh.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(pl, "base64url").toString());
    await refused(`${h}.${b64({ ...claims, body: { ...BODY, amount: "9999.00" } })}.${sig}`, "INTENT_SIGNATURE_INVALID");
    await refused(`${h}.${pl}.${Buffer.from(sig, "base64url").subarray(0, 63).toString("base64url")}`, "INTENT_SIGNATURE_INVALID");
    const raw = Buffer.from(sig, "base64url");
    const der = (x: Buffer) => (x[0]! & 0x80 ? Buffer.concat([Buffer.from([0x02, 33, 0]), x]) : Buffer.concat([Buffer.from([0x02, 32]), x]));
    const body = Buffer.concat([der(raw.subarray(0, 32)), der(raw.subarray(32))]);
    await refused(`${h}.${pl}.${Buffer.concat([Buffer.from([0x30, body.length]), body]).toString("base64url")}`, "INTENT_SIGNATURE_INVALID");
    await w.agents.receiveIntent(fresh);
  });

  it("signIntent writes the JWS jose's CompactSign writes (Ed25519), and refuses a private JWK whose halves differ", async () => {
    const input = { agentId: a.agent.id, body: BODY, nowMs: w.clock.nowMs(), nonce: "n".repeat(22) };
    const jws = await signIntent(priv, input);
    const [h, p] = jws.split(".") as [string, string, string];
    expect(jws).to.equal(await rawSign(priv, JSON.parse(Buffer.from(h, "base64url").toString()), JSON.parse(Buffer.from(p, "base64url").toString())));
    for (const alg of ["EdDSA", "ES256"] as const) {
      const one = await exportJWK((await generateKeyPair(alg, { extractable: true })).privateKey);
      const other = await exportJWK((await generateKeyPair(alg, { extractable: true })).privateKey);
      for (const bad of [{ ...one, x: other.x }, { ...one, d: other.d }, { ...one, d: "AQ" }, { ...one, y: other.y }]) {
        if (alg === "EdDSA" && "y" in bad && bad.y === undefined) continue;
        const e = await rejection(signIntent(bad, { ...input, kid: a.kid }));
        expect(e.code, `${alg} ${JSON.stringify(Object.keys(bad))}`).to.equal("INVALID_INPUT");
      }
    }
  });

  it("a replayed intent is refused with INTENT_REPLAYED and changes nothing", async () => {
    const jws = await sign();
    await w.agents.receiveIntent(jws);
    await refused(jws, "INTENT_REPLAYED");
  });

  it("concurrent submissions of one intent: exactly one is accepted", async () => {
    const jws = await sign();
    const results = await Promise.allSettled(Array.from({ length: 25 }, () => w.agents.receiveIntent(jws)));
    expect(results.filter((r) => r.status === "fulfilled")).to.have.length(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason.code).to.equal("INTENT_REPLAYED");
  });

  it("a tampered intent is refused with INTENT_SIGNATURE_INVALID and changes nothing", async () => {
    const jws = await sign();
    const [h, p, s] = jws.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, "base64url").toString());
    await refused(`${h}.${b64({ ...claims, body: { ...BODY, amount: "9999.00" } })}.${s}`, "INTENT_SIGNATURE_INVALID");
    const flipped = s.slice(0, 10) + (s[10] === "A" ? "B" : "A") + s.slice(11);
    await refused(`${h}.${p}.${flipped}`, "INTENT_SIGNATURE_INVALID");
    // alg swapped in the header: the key says EdDSA
    await refused(`${b64({ alg: "ES256", typ: INTENT_TYP, kid: a.kid })}.${p}.${s}`, "INTENT_SIGNATURE_INVALID");
    // the untampered intent still goes through afterwards
    await w.agents.receiveIntent(jws);
  });

  it("expired intents (too old, or dated in the future) are refused with INTENT_EXPIRED", async () => {
    const now = w.clock.nowMs();
    await refused(await sign(BODY, { nowMs: now - 5 * 60_000 - 1_000 }), "INTENT_EXPIRED");
    await refused(await sign(BODY, { nowMs: now + 5 * 60_000 + 1_000 }), "INTENT_EXPIRED");
    // the edges of the ±5 min window are inside
    await w.agents.receiveIntent(await sign(BODY, { nowMs: now - 5 * 60_000 }));
    await w.agents.receiveIntent(await sign(BODY, { nowMs: now + 5 * 60_000 }));
  });

  it("the age window is configurable", async () => {
    await w.engine.close();
    w = await openWorld({ agents: { intentMaxAgeMs: 30_000 } });
    a = await w.agents.register({ name: "a" });
    priv = a.privateKeyJwk!;
    await refused(await sign(BODY, { nowMs: w.clock.nowMs() - 31_000 }), "INTENT_EXPIRED");
    await w.agents.receiveIntent(await sign(BODY, { nowMs: w.clock.nowMs() - 29_000 }));
  });

  it("wrong key: an unregistered key, another agent's key, or a lying kid", async () => {
    // a key the agent never registered
    const stray = await generateKeyPair("Ed25519", { extractable: true });
    const strayPriv = await exportJWK(stray.privateKey);
    const strayKid = await thumbprint({ kty: "OKP", crv: "Ed25519", x: strayPriv.x! });
    await refused(await signIntent(strayPriv, { agentId: a.agent.id, kid: strayKid, body: BODY, nowMs: w.clock.nowMs() }), "INTENT_KEY_UNKNOWN");
    // another agent's (registered) key, claiming to be this agent
    const b = await w.agents.register({ name: "b" });
    await refused(await signIntent(b.privateKeyJwk!, { agentId: a.agent.id, body: BODY, nowMs: w.clock.nowMs() }), "INTENT_KEY_UNKNOWN");
    // an unknown agent
    await refused(await signIntent(priv, { agentId: "agt_0123456789abcdefghjk", body: BODY, nowMs: w.clock.nowMs() }), "INTENT_KEY_UNKNOWN");
    // this agent's kid, but signed by another private key
    await refused(await signIntent(strayPriv, { agentId: a.agent.id, kid: a.kid, body: BODY, nowMs: w.clock.nowMs() }), "INTENT_SIGNATURE_INVALID");
  });

  it("a revoked key is refused with INTENT_KEY_REVOKED; a rotated key keeps working until revoked", async () => {
    const jws1 = await sign();
    const r = await w.agents.rotateKey(a.agent.id);
    await w.agents.receiveIntent(jws1); // old key, retired, still valid
    const jws2 = await sign();
    await w.agents.revokeKey(a.agent.id, a.kid);
    await refused(jws2, "INTENT_KEY_REVOKED");
    await w.agents.receiveIntent(await signIntent(r.privateKeyJwk!, { agentId: a.agent.id, body: BODY, nowMs: w.clock.nowMs() }));
  });

  it("after a rotation's grace period the old key is refused with INTENT_KEY_REVOKED", async () => {
    await w.agents.rotateKey(a.agent.id, { grace: "10m" });
    w.clock.advance(9 * 60_000);
    await w.agents.receiveIntent(await sign());
    w.clock.advance(60_000);
    const before = snapshot(w.engine);
    const e = await rejection(w.agents.receiveIntent(await sign()));
    expect(e.code).to.equal("INTENT_KEY_REVOKED");
    expect(e.details?.reason).to.equal("grace_ended");
    expect(snapshot(w.engine)).to.equal(before);
  });

  it("a disabled agent's intents are refused with AGENT_DISABLED", async () => {
    const jws = await sign();
    await w.agents.disable(a.agent.id);
    await refused(jws, "AGENT_DISABLED");
  });

  it("a revocation or a disable queued before the command wins over an already verified intent", async () => {
    const v1 = await w.agents.verifyIntent(await sign());
    const v2 = await w.agents.verifyIntent(await sign());
    const revoke = w.agents.revokeKey(a.agent.id, a.kid);
    const e = await rejection(w.engine.submit((tx) => acceptIntent(tx, v1)));
    await revoke;
    expect(e.code).to.equal("INTENT_KEY_REVOKED");
    const b = await w.agents.register({ name: "b" });
    const vb = await w.agents.verifyIntent(await signIntent(b.privateKeyJwk!, { agentId: b.agent.id, body: BODY, nowMs: w.clock.nowMs() }));
    const disable = w.agents.disable(b.agent.id);
    const e2 = await rejection(w.engine.submit((tx) => acceptIntent(tx, vb)));
    await disable;
    expect(e2.code).to.equal("AGENT_DISABLED");
    expect(v2.nonce).to.not.equal(v1.nonce);
  });

  it("the intent is re-aged inside the command (verified in time, applied too late)", async () => {
    const v = await w.agents.verifyIntent(await sign());
    w.clock.advance(5 * 60_000 + 1);
    expect((await rejection(w.engine.submit((tx) => acceptIntent(tx, v)))).code).to.equal("INTENT_EXPIRED");
  });

  it("receiveIntent runs the follow-up in the same command; if it throws, its writes are undone but the intent is used", async () => {
    const jws = await sign();
    const before = [...w.engine.scan("")].filter(([k]) => !k.startsWith("nn/"));
    const e = await rejection(w.agents.receiveIntent(jws, (tx) => {
      tx.put("test/undone", { x: 1 });
      throw Object.assign(new Error("declined"), { code: "POLICY_DECLINED" });
    }));
    expect(e.code).to.equal("POLICY_DECLINED");
    expect([...w.engine.scan("")].filter(([k]) => !k.startsWith("nn/"))).to.deep.equal(before);
    // Used once, whatever the outcome: the same JWS is now a replay.
    expect((await rejection(w.agents.receiveIntent(jws, () => 1))).code).to.equal("INTENT_REPLAYED");
    const out = await w.agents.receiveIntent(await sign(), (tx, intent, agent) => {
      tx.put("test/side-effect", { nonce: intent.nonce });
      return agent.id;
    });
    expect(out).to.equal(a.agent.id);
    expect(w.engine.read("test/side-effect")).to.be.an("object");
  });

  describe("malformed intents are refused with INTENT_MALFORMED", () => {
    const good = () => ({ iss: "", iat: 0, nonce: "", body: BODY });
    const cases: Array<[string, (ctx: { jws: string; priv: AgentPrivateJwk; kid: string; iss: string; iat: number }) => Promise<unknown> | unknown]> = [
      ["not a string", () => 42],
      ["two parts", ({ jws }) => jws.split(".").slice(0, 2).join(".")],
      ["empty signature", ({ jws }) => jws.split(".").slice(0, 2).join(".") + "."],
      ["header not JSON", ({ jws }) => `${Buffer.from("{oops").toString("base64url")}.${jws.split(".")[1]}.${jws.split(".")[2]}`],
      ["not base64url", ({ jws }) => `a+b.${jws.split(".")[1]}.${jws.split(".")[2]}`],
      ["too large", ({ jws }) => jws + "A".repeat(70_000)],
      ["alg none", ({ jws, kid }) => `${b64({ alg: "none", typ: INTENT_TYP, kid })}.${jws.split(".")[1]}.`],
      ["alg none with a signature", ({ jws, kid }) => `${b64({ alg: "none", typ: INTENT_TYP, kid })}.${jws.split(".")[1]}.AAAA`],
      ["alg HS256", ({ jws, kid }) => `${b64({ alg: "HS256", typ: INTENT_TYP, kid })}.${jws.split(".")[1]}.AAAA`],
      ["typ JWT", ({ priv, kid, iss, iat }) => rawSign(priv, { alg: "EdDSA", typ: "JWT", kid }, { iss, iat, nonce: "A".repeat(22), body: BODY })],
      ["no kid", ({ priv, iss, iat }) => rawSign(priv, { alg: "EdDSA", typ: INTENT_TYP }, { iss, iat, nonce: "A".repeat(22), body: BODY })],
      ["embedded jwk header", ({ priv, kid, iss, iat }) => rawSign(priv, { alg: "EdDSA", typ: INTENT_TYP, kid, jwk: { kty: "OKP" } }, { iss, iat, nonce: "A".repeat(22), body: BODY })],
      ["crit header", ({ jws, kid }) => `${b64({ alg: "EdDSA", typ: INTENT_TYP, kid, crit: ["x-agentpay"], "x-agentpay": 1 })}.${jws.split(".")[1]}.${jws.split(".")[2]}`],
      ["short nonce (< 128 bits)", ({ priv, kid, iss, iat }) => rawSign(priv, { alg: "EdDSA", typ: INTENT_TYP, kid }, { iss, iat, nonce: "A".repeat(21), body: BODY })],
      ["no nonce", ({ priv, kid, iss, iat }) => rawSign(priv, { alg: "EdDSA", typ: INTENT_TYP, kid }, { iss, iat, body: BODY })],
      ["iat in ms as a float", ({ priv, kid, iss, iat }) => rawSign(priv, { alg: "EdDSA", typ: INTENT_TYP, kid }, { iss, iat: iat + 0.5, nonce: "A".repeat(22), body: BODY })],
      ["iat as a string", ({ priv, kid, iss, iat }) => rawSign(priv, { alg: "EdDSA", typ: INTENT_TYP, kid }, { iss, iat: String(iat), nonce: "A".repeat(22), body: BODY })],
      ["iss not an agent id", ({ priv, kid, iat }) => rawSign(priv, { alg: "EdDSA", typ: INTENT_TYP, kid }, { iss: "wal_0123456789abcdef", iat, nonce: "A".repeat(22), body: BODY })],
      ["no body", ({ priv, kid, iss, iat }) => rawSign(priv, { alg: "EdDSA", typ: INTENT_TYP, kid }, { iss, iat, nonce: "A".repeat(22) })],
      ["an extra claim", ({ priv, kid, iss, iat }) => rawSign(priv, { alg: "EdDSA", typ: INTENT_TYP, kid }, { ...good(), iss, iat, nonce: "A".repeat(22), exp: iat + 60 })],
      ["payload an array", ({ priv, kid }) => rawSign(priv, { alg: "EdDSA", typ: INTENT_TYP, kid }, [1, 2])],
    ];
    for (const [name, make] of cases) {
      it(name, async () => {
        const jws = await sign();
        const bad = await make({ jws, priv, kid: a.kid, iss: a.agent.id, iat: Math.floor(w.clock.nowMs() / 1000) });
        await refused(bad, "INTENT_MALFORMED");
      });
    }
  });

  it("signIntent refuses bad input: bigint bodies, public keys, bad agent ids", async () => {
    expect((await rejection(signIntent(priv, { agentId: a.agent.id, body: { amount: 1n } }))).code).to.equal("INVALID_INPUT");
    const { d: _d, ...pub } = priv;
    expect((await rejection(signIntent(pub as never, { agentId: a.agent.id, body: BODY }))).code).to.equal("INVALID_INPUT");
    expect((await rejection(signIntent(priv, { agentId: "nope", body: BODY }))).code).to.equal("INVALID_ID");
    expect((await rejection(signIntent(priv, { agentId: a.agent.id, body: { blob: "x".repeat(70_000) } }))).code).to.equal("INVALID_INPUT");
  });

  it("consumeNonce is a pure function over a Tx: refuses reuse and stale or future iat", async () => {
    const agentId = a.agent.id;
    const nonce = "B".repeat(22);
    const now = w.clock.nowMs();
    await w.engine.submit((tx) => consumeNonce(tx, agentId, nonce, now, 60_000));
    expect((await rejection(w.engine.submit((tx) => consumeNonce(tx, agentId, nonce, now, 60_000)))).code).to.equal("INTENT_REPLAYED");
    expect((await rejection(w.engine.submit((tx) => consumeNonce(tx, agentId, "C".repeat(22), now - 60_001, 60_000)))).code).to.equal("INTENT_EXPIRED");
    expect((await rejection(w.engine.submit((tx) => consumeNonce(tx, agentId, "C".repeat(22), now + 60_001, 60_000)))).code).to.equal("INTENT_EXPIRED");
    // the same nonce string from another agent is a different nonce
    await w.engine.submit((tx) => consumeNonce(tx, "agt_0123456789abcdefghjk", nonce, now, 60_000));
  });
});

describe("agents: replay protection survives a restart", () => {
  it("MemoryStore shared by two engines: a replay after reopen is refused", async () => {
    const store = new MemoryStore();
    const clock = new ManualClock();
    const w1 = await openWorld({ store, clock });
    const a = await w1.agents.register({ name: "a" });
    const jws = await signIntent(a.privateKeyJwk!, { agentId: a.agent.id, body: BODY, nowMs: clock.nowMs() });
    await w1.agents.receiveIntent(jws);
    await w1.engine.close();
    const w2 = await openWorld({ store, clock });
    const before = snapshot(w2.engine);
    expect((await rejection(w2.agents.receiveIntent(jws))).code).to.equal("INTENT_REPLAYED");
    expect(snapshot(w2.engine)).to.equal(before);
    expect(w2.agents.nonceBacklog).to.equal(1);
    await w2.engine.close();
  });

  it("LevelStore in a temp dir: a replay after reopen is refused", async () => {
    const dir = await mkdtemp(join(tmpdir(), "agentpay-agents-"));
    try {
      const clock = new ManualClock();
      const w1 = await openWorld({ store: new LevelStore(dir), clock });
      const a = await w1.agents.register({ name: "a" });
      const jws = await signIntent(a.privateKeyJwk!, { agentId: a.agent.id, body: BODY, nowMs: clock.nowMs() });
      await w1.agents.receiveIntent(jws);
      await w1.engine.close();
      const w2 = await openWorld({ store: new LevelStore(dir), clock });
      expect((await rejection(w2.agents.receiveIntent(jws))).code).to.equal("INTENT_REPLAYED");
      await w2.engine.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("agents: nonce pruning", () => {
  it("forgets nonces older than the window, a bounded number per call, and keeps refusing their intents", async () => {
    const store = new MemoryStore();
    const clock = new ManualClock();
    const w = await openWorld({ store, clock });
    const a = await w.agents.register({ name: "a" });
    const old: string[] = [];
    for (let i = 0; i < 5; i++) {
      const jws = await signIntent(a.privateKeyJwk!, { agentId: a.agent.id, body: { i }, nowMs: clock.nowMs() });
      await w.agents.receiveIntent(jws);
      old.push(jws);
    }
    clock.advance(4 * 60_000);
    await w.agents.receiveIntent(await signIntent(a.privateKeyJwk!, { agentId: a.agent.id, body: { young: true }, nowMs: clock.nowMs() }));
    expect(await w.agents.pruneNonces()).to.equal(0); // nothing is old enough yet
    clock.advance(2 * 60_000);
    expect(await w.agents.pruneNonces({ max: 2 })).to.equal(2);
    expect(await w.agents.pruneNonces({ max: 2 })).to.equal(2);
    expect(await w.agents.pruneNonces({ max: 2 })).to.equal(1);
    expect(await w.agents.pruneNonces({ max: 2 })).to.equal(0);
    expect([...w.engine.scan("nn/agt_")]).to.have.length(1); // only the young one
    expect((await rejection(w.agents.pruneNonces({ max: 0 }))).code).to.equal("INVALID_INPUT");
    await w.engine.close();
    // Reopened with a much wider window: the pruned intents must still be refused.
    const w2 = await openWorld({ store, clock, agents: { intentMaxAgeMs: 3_600_000 } });
    for (const jws of old) expect((await rejection(w2.agents.receiveIntent(jws))).code).to.equal("INTENT_EXPIRED");
    // the young one is still remembered, and still prunable after the reload
    expect(w2.agents.nonceBacklog).to.equal(1);
    clock.advance(3_600_000);
    expect(await w2.agents.pruneNonces()).to.equal(1);
    expect([...w2.engine.scan("nn/agt_")]).to.have.length(0);
    await w2.engine.close();
  });

  it("the background pruner can be started and stopped", async () => {
    const w = await openWorld();
    const stop = w.agents.startNoncePruner(10);
    stop();
    await w.engine.close();
  });
});
