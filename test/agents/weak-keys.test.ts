import { expect } from "chai";
import { exportJWK, generateKeyPair } from "jose";
import { openWorld, rejection, snapshot } from "./helpers.ts";
import type { World } from "./helpers.ts";

const P = 2n ** 255n - 19n;

/** A 32-byte little-endian Ed25519 point encoding of `y`, with the x sign bit. */
function encode(y: bigint, sign: 0 | 1): string {
  const b = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) b[i] = Number((y >> BigInt(8 * i)) & 0xffn);
  if (sign) b[31] = b[31]! | 0x80;
  return b.toString("base64url");
}

const le = (hex: string) => BigInt(`0x${Buffer.from(hex, "hex").reverse().toString("hex")}`);

/**
 * Every small-order point of edwards25519 (orders 1, 2, 4 and 8: the identity and its company) and
 * every non-canonical encoding (y >= p, which includes 0 and 1 written as p and p + 1). A key among
 * them lets anyone forge signatures that verify under some implementation: refused.
 */
const SMALL_ORDER_Y = [
  1n, // the identity (order 1)
  P - 1n, // order 2
  0n, // order 4 (x = ±sqrt(-1))
  le("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), // order 8
  le("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), // order 8
];

describe("agents: weak Ed25519 keys are refused", () => {
  let w: World;
  beforeEach(async () => {
    w = await openWorld();
  });
  afterEach(async () => {
    await w.engine.close();
  });

  it("every small-order point, with either sign bit, is refused at registration and rotation (AGENT_KEY_INVALID, weak_key), changing nothing", async () => {
    const { agent } = await w.agents.register({ name: "honest" });
    const before = snapshot(w.engine);
    for (const y of SMALL_ORDER_Y) {
      for (const sign of [0, 1] as const) {
        const jwk = { kty: "OKP", crv: "Ed25519", x: encode(y, sign) };
        for (const call of [() => w.agents.register({ name: "weak", publicKeyJwk: jwk }), () => w.agents.rotateKey(agent.id, { publicKeyJwk: jwk })]) {
          const e = await rejection(call());
          expect(e.code, `y=${y} sign=${sign}`).to.equal("AGENT_KEY_INVALID");
          expect(e.details?.reason).to.equal("weak_key");
        }
      }
    }
    expect(snapshot(w.engine)).to.equal(before);
  });

  it("every non-canonical encoding (y >= p) is refused (AGENT_KEY_INVALID, non_canonical)", async () => {
    for (let y = P; y < 2n ** 255n; y++) {
      const e = await rejection(w.agents.register({ name: "odd", publicKeyJwk: { kty: "OKP", crv: "Ed25519", x: encode(y, 0) } }));
      expect(e.code, `y=p+${y - P}`).to.equal("AGENT_KEY_INVALID");
      expect(e.details?.reason).to.be.oneOf(["non_canonical", "weak_key"]);
    }
  });

  it("a real key still registers, and P-256 keys are untouched (a prime-order curve has no small subgroup)", async () => {
    for (const alg of ["Ed25519", "ES256"] as const) {
      const pair = await generateKeyPair(alg, { extractable: true });
      const r = await w.agents.register({ name: "fine", publicKeyJwk: await exportJWK(pair.publicKey) });
      expect(r.agent.status).to.equal("active");
    }
  });
});
