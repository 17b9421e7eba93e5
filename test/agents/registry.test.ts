import { expect } from "chai";
import { exportJWK, generateKeyPair } from "jose";
import { isAgentPayError } from "../../src/core/index.ts";
import { thumbprint, normalizePublicJwk } from "../../src/agents/index.ts";
import { openWorld, rejection, snapshot, thrown } from "./helpers.ts";
import type { World } from "./helpers.ts";

async function publicJwk(alg: "Ed25519" | "ES256"): Promise<Record<string, unknown>> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(pair.publicKey)) };
}

async function privateJwk(alg: "Ed25519" | "ES256"): Promise<Record<string, unknown>> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(pair.privateKey)) };
}

describe("agents: registry", () => {
  let w: World;
  beforeEach(async () => {
    w = await openWorld();
  });
  afterEach(async () => {
    await w.engine.close();
  });

  it("lists every agent oldest first, also when several share a millisecond", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      if (i % 3 === 0) w.clock.advance(1);
      ids.push((await w.agents.register({ name: `agent-${i}` })).agent.id);
    }
    const listed = w.agents.list();
    const expected = [...ids].sort((a, b) => w.agents.get(a).createdAtMs - w.agents.get(b).createdAtMs || (a < b ? -1 : 1));
    expect(listed.map((a) => a.id)).to.deep.equal(expected);
    expect(listed.map((a) => a.createdAtMs)).to.deep.equal([...listed.map((a) => a.createdAtMs)].sort((a, b) => a - b));
  });

  it("registers an agent with an Ed25519 public JWK; kid is the RFC 7638 thumbprint", async () => {
    const jwk = await publicJwk("Ed25519");
    const r = await w.agents.register({ name: "trip-planner", publicKeyJwk: jwk });
    expect(r.agent.id).to.match(/^agt_/);
    expect(r.privateKeyJwk).to.equal(undefined);
    expect(r.kid).to.equal(await thumbprint(jwk as never));
    const got = w.agents.get(r.agent.id);
    expect(got.name).to.equal("trip-planner");
    expect(got.status).to.equal("active");
    expect(got.activeKid).to.equal(r.kid);
    expect(got.keys).to.have.length(1);
    expect(got.keys[0]!.alg).to.equal("EdDSA");
    expect(got.keys[0]!.publicKeyJwk).to.deep.equal({ kty: "OKP", crv: "Ed25519", x: jwk.x });
  });

  it("registers an agent with a P-256 public JWK (alg ES256)", async () => {
    const jwk = await publicJwk("ES256");
    const r = await w.agents.register({ name: "shopper", publicKeyJwk: { ...jwk, alg: "ES256", use: "sig" } });
    const got = w.agents.get(r.agent.id);
    expect(got.keys[0]!.alg).to.equal("ES256");
    expect(got.keys[0]!.publicKeyJwk).to.deep.equal({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y });
    expect(r.kid).to.equal(await thumbprint(got.keys[0]!.publicKeyJwk));
  });

  for (const alg of ["EdDSA", "ES256"] as const) {
    it(`generates a ${alg} key pair, returns the private key once and never stores it`, async () => {
      const r = await w.agents.register({ name: "gen", alg });
      expect(r.privateKeyJwk).to.be.an("object");
      expect(r.privateKeyJwk!.d).to.be.a("string");
      expect(r.privateKeyJwk!.kid).to.equal(r.kid);
      expect(r.privateKeyJwk!.alg).to.equal(alg);
      const d = r.privateKeyJwk!.d;
      // Nowhere in the state, nowhere in what getters return.
      expect(snapshot(w.engine)).to.not.include(d);
      expect(JSON.stringify(w.agents.get(r.agent.id))).to.not.include(d);
      expect(JSON.stringify(w.agents.list())).to.not.include(d);
      expect(JSON.stringify(r.agent)).to.not.include(d);
    });
  }

  it("defaults generated keys to Ed25519", async () => {
    const r = await w.agents.register({ name: "gen" });
    expect(r.privateKeyJwk!.kty).to.equal("OKP");
  });

  describe("refuses invalid public JWKs, changing nothing", () => {
    const cases: Array<[string, () => Promise<unknown>, string]> = [
      ["not an object", async () => "abc", "not_an_object"],
      ["an array", async () => [], "not_an_object"],
      ["null", async () => null, "not_an_object"],
      ["Ed25519 private key", () => privateJwk("Ed25519"), "private_material"],
      ["P-256 private key", () => privateJwk("ES256"), "private_material"],
      ["a symmetric key", async () => ({ kty: "oct", k: "c2VjcmV0" }), "private_material"],
      ["RSA", async () => ({ kty: "RSA", n: "abc", e: "AQAB" }), "unknown_member"],
      ["RSA without extras", async () => ({ kty: "RSA" }), "unsupported_kty"],
      ["X25519 (an encryption key)", async () => ({ ...(await publicJwk("Ed25519")), crv: "X25519" }), "unsupported_curve"],
      ["P-384", async () => ({ ...(await publicJwk("ES256")), crv: "P-384" }), "unsupported_curve"],
      ["short x", async () => ({ kty: "OKP", crv: "Ed25519", x: "AAAA" }), "bad_coordinate"],
      ["padded x", async () => ({ ...(await publicJwk("Ed25519")), x: `${(await publicJwk("Ed25519")).x}=` }), "bad_coordinate"],
      ["x not base64url", async () => ({ kty: "OKP", crv: "Ed25519", x: "+".repeat(43) }), "bad_coordinate"],
      ["missing y", async () => { const j = await publicJwk("ES256"); delete j.y; return j; }, "bad_coordinate"],
      ["point not on the curve", async () => ({ ...(await publicJwk("ES256")), y: Buffer.alloc(32, 7).toString("base64url") }), "bad_point"],
      ["use enc", async () => ({ ...(await publicJwk("Ed25519")), use: "enc" }), "bad_use"],
      ["key_ops sign", async () => ({ ...(await publicJwk("Ed25519")), key_ops: ["sign"] }), "bad_key_ops"],
      ["alg mismatch", async () => ({ ...(await publicJwk("ES256")), alg: "EdDSA" }), "bad_alg"],
      ["unknown member", async () => ({ ...(await publicJwk("Ed25519")), x5c: ["..."] }), "unknown_member"],
    ];
    for (const [name, make, reason] of cases) {
      it(name, async () => {
        const jwk = await make();
        const before = snapshot(w.engine);
        const e = await rejection(w.agents.register({ name: "bad", publicKeyJwk: jwk }));
        expect(e.code, e.message).to.equal("AGENT_KEY_INVALID");
        expect(e.details?.reason).to.equal(reason);
        expect(snapshot(w.engine)).to.equal(before);
        if (jwk && typeof jwk === "object" && "d" in jwk) {
          expect(e.message).to.not.include(String((jwk as { d: string }).d));
          expect(JSON.stringify(e)).to.not.include(String((jwk as { d: string }).d));
        }
      });
    }
  });

  it("refuses bad names and bad ids", async () => {
    for (const name of ["", "   ", "x".repeat(101), "a\nb", 42]) {
      expect((await rejection(w.agents.register({ name: name as string }))).code).to.equal("INVALID_INPUT");
    }
    expect(thrown(() => w.agents.get("wal_0123456789abcdef")).code).to.equal("INVALID_ID");
    expect(thrown(() => w.agents.get("agt_0123456789abcdef")).code).to.equal("AGENT_NOT_FOUND");
  });

  it("refuses a public key already registered (to this or another agent)", async () => {
    const jwk = await publicJwk("Ed25519");
    const a = await w.agents.register({ name: "a", publicKeyJwk: jwk });
    expect((await rejection(w.agents.register({ name: "b", publicKeyJwk: jwk }))).code).to.equal("AGENT_KEY_EXISTS");
    expect((await rejection(w.agents.rotateKey(a.agent.id, { publicKeyJwk: jwk }))).code).to.equal("AGENT_KEY_EXISTS");
    expect(w.agents.list()).to.have.length(1);
  });

  it("rotates: the new key is active, the old one stays valid until revoked", async () => {
    const a = await w.agents.register({ name: "a" });
    const jwk = await publicJwk("ES256");
    const r = await w.agents.rotateKey(a.agent.id, { publicKeyJwk: jwk });
    expect(r.privateKeyJwk).to.equal(undefined);
    const got = w.agents.get(a.agent.id);
    expect(got.activeKid).to.equal(r.kid);
    expect(got.keys.map((k) => [k.kid, k.status])).to.deep.equal([[a.kid, "retired"], [r.kid, "active"]]);
    expect(got.keys[0]!.notAfterMs).to.equal(undefined);
    const revoked = await w.agents.revokeKey(a.agent.id, a.kid);
    expect(revoked.keys[0]!.status).to.equal("revoked");
    expect(revoked.keys[0]!.revokedAtMs).to.equal(w.clock.nowMs());
    // idempotent
    expect((await w.agents.revokeKey(a.agent.id, a.kid)).keys[0]!.status).to.equal("revoked");
    expect((await rejection(w.agents.revokeKey(a.agent.id, "nope"))).code).to.equal("AGENT_KEY_NOT_FOUND");
  });

  it("rotates with a grace period and generates the new key when none is given", async () => {
    const a = await w.agents.register({ name: "a" });
    const r = await w.agents.rotateKey(a.agent.id, { grace: "1h" });
    expect(r.privateKeyJwk!.kid).to.equal(r.kid);
    const got = w.agents.get(a.agent.id);
    expect(got.keys[0]!.notAfterMs).to.equal(w.clock.nowMs() + 3_600_000);
    expect((await rejection(w.agents.rotateKey(a.agent.id, { grace: "soon" }))).code).to.equal("INVALID_INPUT");
    expect((await rejection(w.agents.rotateKey(a.agent.id, { graceMs: -1 }))).code).to.equal("INVALID_INPUT");
  });

  it("bounds the keys kept per agent, forgetting dead keys first", async () => {
    const a = await w.agents.register({ name: "a" });
    let last = a.kid;
    for (let i = 0; i < 20; i++) {
      const r = await w.agents.rotateKey(a.agent.id);
      await w.agents.revokeKey(a.agent.id, last);
      last = r.kid;
    }
    expect(w.agents.get(a.agent.id).keys.length).to.be.at.most(16);
    // 15 valid keys + 1 active: the next rotation must be refused until one is revoked.
    const b = await w.agents.register({ name: "b" });
    for (let i = 0; i < 15; i++) await w.agents.rotateKey(b.agent.id);
    const e = await rejection(w.agents.rotateKey(b.agent.id));
    expect(e.code).to.equal("AGENT_KEY_LIMIT");
  });

  it("bounds the agents one person registers, and lists a person's agents without reading anyone else's", async () => {
    const world = await openWorld({ agents: { maxAgentsPerOwner: 3 } });
    try {
      const mine = [];
      for (let i = 0; i < 3; i++) mine.push((await world.agents.register({ name: `m${i}`, ownerId: "mallory" })).agent.id);
      const before = snapshot(world.engine);
      const e = await rejection(world.agents.register({ name: "one too many", ownerId: "mallory" }));
      expect(e.code).to.equal("INVALID_INPUT");
      expect(snapshot(world.engine)).to.deep.equal(before);
      // Others, and agents without a person (managed by the operator), are not counted against it.
      const alices = (await world.agents.register({ name: "a", ownerId: "alice" })).agent.id;
      for (let i = 0; i < 4; i++) await world.agents.register({ name: `ops${i}` });
      expect(world.agents.list({ ownerId: "mallory" }).map((a) => a.id)).to.have.members(mine);
      expect(world.agents.list({ ownerId: "alice" }).map((a) => a.id)).to.deep.equal([alices]);
      expect(world.agents.list({ ownerId: "nobody" })).to.deep.equal([]);
      expect(world.agents.list().length).to.equal(8);
    } finally {
      await world.engine.close();
    }
  });

  it("disables an agent (idempotent); a disabled agent cannot rotate", async () => {
    const a = await w.agents.register({ name: "a" });
    const d = await w.agents.disable(a.agent.id);
    expect(d.status).to.equal("disabled");
    expect((await w.agents.disable(a.agent.id)).disabledAtMs).to.equal(d.disabledAtMs);
    expect((await rejection(w.agents.rotateKey(a.agent.id))).code).to.equal("AGENT_DISABLED");
  });

  it("returns copies: mutating a result does not change the registry", async () => {
    const a = await w.agents.register({ name: "a" });
    const got = w.agents.get(a.agent.id) as { name: string };
    got.name = "evil";
    expect(w.agents.get(a.agent.id).name).to.equal("a");
  });

  it("normalizePublicJwk keeps only the members that define the key", async () => {
    const jwk = await publicJwk("Ed25519");
    expect(normalizePublicJwk({ ...jwk, kid: "mine", alg: "EdDSA", use: "sig", key_ops: ["verify"], ext: true }))
      .to.deep.equal({ kty: "OKP", crv: "Ed25519", x: jwk.x });
    expect(isAgentPayError(thrown(() => normalizePublicJwk({ kty: "OKP" })))).to.equal(true);
  });
});
