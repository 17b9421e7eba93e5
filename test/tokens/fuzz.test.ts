import { expect } from "chai";
import fc from "fast-check";
import { AgentPayError, ManualClock } from "../../src/core/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import { TOKEN_TYP, TokenErrorCodes, TokenVerifier } from "../../src/tokens/index.ts";
import { NOW_MS, b64u, goodClaims, goodHeader, ids, mintInput, openTokens, signWith, testKey } from "./helpers.ts";
import type { Setup, TestKey } from "./helpers.ts";

/**
 * Token parser fuzz: random strings and mutated valid tokens against the issuer's verifier and
 * the offline one. Invariants: nothing but an AgentPayError with a TOKEN_* code ever comes out,
 * and nothing that is not a genuine token is ever accepted. Seeded, so a failure reproduces;
 * set FUZZ_SEED to explore other seeds.
 */
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 0x70_6b_6e;
const TOKEN_CODES = new Set<string>(TokenErrorCodes);
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

describe("tokens: parser fuzz", function () {
  this.timeout(120_000);

  let ed: Setup;
  let es: Setup;
  let valid: string[];
  let offline: TokenVerifier;
  let attacker: TestKey;
  let cases = 0;

  before(async () => {
    ed = await openTokens(new MemoryStore(), new ManualClock(NOW_MS));
    es = await openTokens(new MemoryStore(), new ManualClock(NOW_MS), { alg: "ES256" });
    valid = [
      ed.issuer.mint(mintInput()).token,
      ed.issuer.mint(mintInput({ agentKeyThumbprint: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", voucherHash: "0x" + "1f".repeat(32) })).token,
      es.issuer.mint(mintInput()).token,
    ];
    offline = new TokenVerifier({ keys: [...ed.issuer.jwks().keys, ...es.issuer.jwks().keys] });
    attacker = testKey("EdDSA", ed.ring.active().kid); // the issuer's kid, someone else's key
  });

  after(() => {
    expect(cases, "fuzz cases run").to.be.at.least(10_000);
  });

  /** Runs every verifier; returns how many accepted. Fails on anything thrown that is not a TOKEN_* AgentPayError. */
  function accepted(candidate: unknown): number {
    cases += 1;
    let n = 0;
    const attempts = [
      () => ed.issuer.verify(candidate, { merchantId: ids.merchant }),
      () => es.issuer.verify(candidate, { merchantId: ids.merchant }),
      () => offline.verify(candidate, { audience: ids.merchant, nowMs: NOW_MS + 1_000 }),
    ];
    for (const attempt of attempts) {
      try {
        attempt();
        n += 1;
      } catch (e) {
        if (!(e instanceof AgentPayError)) throw new Error(`non-AgentPayError thrown: ${String(e)}`);
        if (!TOKEN_CODES.has(e.code)) throw new Error(`unexpected code ${e.code}`);
      }
    }
    return n;
  }

  const neverAccepted = (candidate: unknown): boolean => {
    if (typeof candidate === "string" && valid.includes(candidate)) return true; // a mutation that changed nothing
    return accepted(candidate) === 0;
  };

  const pickToken = fc.nat({ max: 2 });

  it("the genuine tokens are accepted (so the fuzz below rejects for the right reasons)", () => {
    expect(accepted(valid[0])).to.equal(2); // ed issuer + offline
    expect(accepted(valid[1])).to.equal(2);
    expect(accepted(valid[2])).to.equal(2); // es issuer + offline
  });

  it("random strings (any code point, ASCII, base64url segments, non-strings): 3,500 cases", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), neverAccepted), { seed: SEED, numRuns: 1_000 });
    fc.assert(fc.property(fc.string({ unit: "binary-ascii", maxLength: 600 }), neverAccepted), { seed: SEED + 1, numRuns: 1_000 });
    const seg = fc.string({ unit: fc.constantFrom(...B64URL), maxLength: 120 });
    fc.assert(fc.property(fc.array(seg, { minLength: 1, maxLength: 5 }).map((a) => a.join(".")), neverAccepted),
      { seed: SEED + 2, numRuns: 1_000 });
    fc.assert(fc.property(fc.anything(), neverAccepted), { seed: SEED + 3, numRuns: 500 });
  });

  it("one character of a valid token replaced, in each segment: 3,000 cases", () => {
    for (let segment = 0; segment < 3; segment++) {
      fc.assert(fc.property(pickToken, fc.nat(), fc.oneof(fc.constantFrom(...B64URL), fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 1 })), (t, pos, ch) => {
        const parts = valid[t]!.split(".");
        const s = parts[segment]!;
        const i = pos % s.length;
        parts[segment] = s.slice(0, i) + ch + s.slice(i + 1);
        return neverAccepted(parts.join("."));
      }), { seed: SEED + 10 + segment, numRuns: 1_000 });
    }
  });

  it("one bit of a decoded segment flipped and re-encoded: 1,500 cases", () => {
    for (let segment = 0; segment < 3; segment++) {
      fc.assert(fc.property(pickToken, fc.nat(), fc.nat({ max: 7 }), (t, pos, bit) => {
        const parts = valid[t]!.split(".");
        const bytes = Buffer.from(parts[segment]!, "base64url");
        const i = pos % bytes.length;
        bytes[i] = bytes[i]! ^ (1 << bit);
        parts[segment] = bytes.toString("base64url");
        return neverAccepted(parts.join("."));
      }), { seed: SEED + 20 + segment, numRuns: 500 });
    }
  });

  it("structural mutations: swapped, dropped, duplicated or mixed segments, truncation, insertion, alg none: 2,000 cases", () => {
    const mutation = fc.oneof(
      fc.tuple(pickToken, fc.constantFrom([1, 0, 2], [0, 2, 1], [2, 1, 0], [1, 2, 0], [2, 0, 1], [0, 0, 2], [0, 1, 1], [1, 1, 2]))
        .map(([t, order]) => { const p = valid[t]!.split("."); return order.map((i) => p[i]).join("."); }),
      fc.tuple(pickToken, fc.nat({ max: 2 })).map(([t, drop]) => valid[t]!.split(".").filter((_, i) => i !== drop).join(".")),
      fc.tuple(pickToken, pickToken, fc.nat({ max: 2 })).filter(([a, b]) => a !== b)
        .map(([a, b, seg]) => { const p = valid[a]!.split("."); p[seg] = valid[b]!.split(".")[seg]!; return p.join("."); }),
      fc.tuple(pickToken, fc.nat()).map(([t, n]) => valid[t]!.slice(0, n % valid[t]!.length)),
      fc.tuple(pickToken, fc.nat(), fc.string({ unit: "binary", minLength: 1, maxLength: 3 }))
        .map(([t, n, s]) => { const v = valid[t]!; const i = n % (v.length + 1); return v.slice(0, i) + s + v.slice(i); }),
      fc.tuple(pickToken, fc.constantFrom(" ", "\n", "\t", "\u0000", ".", "=", "==")).map(([t, w]) => w + valid[t]! + w),
      fc.tuple(pickToken, pickToken).map(([a, b]) => `${valid[a]}.${valid[b]}`),
      fc.tuple(pickToken, fc.boolean(), fc.constantFrom("none", "None", "NONE", "nOnE", "HS256", "RS256", "ES256", "EdDSA", ""))
        .map(([t, keepSig, alg]) => {
          const [h, p, s] = valid[t]!.split(".");
          const header = JSON.parse(Buffer.from(h!, "base64url").toString());
          return `${b64u({ ...header, alg })}.${p}.${keepSig ? s : ""}`;
        }),
      // the last character of a segment carries unused bits: other spellings of the same bytes
      fc.tuple(pickToken, fc.nat({ max: 2 }), fc.constantFrom(...B64URL)).map(([t, seg, ch]) => {
        const p = valid[t]!.split(".");
        p[seg] = p[seg]!.slice(0, -1) + ch;
        return p.join(".");
      }),
      pickToken.map((t) => valid[t]!.toUpperCase()),
      pickToken.map((t) => valid[t]!.replace(/[-_]/g, (c) => (c === "-" ? "+" : "/"))),
    );
    fc.assert(fc.property(mutation, neverAccepted), { seed: SEED + 30, numRuns: 2_000 });
  });

  it("headers re-encoded with random members or values over a valid payload and signature: 1,000 cases", () => {
    const header = fc.oneof(
      fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
      fc.record({
        alg: fc.oneof(fc.constantFrom("EdDSA", "ES256", "none", "HS256"), fc.jsonValue({ maxDepth: 1 })),
        typ: fc.oneof(fc.constant(TOKEN_TYP), fc.constantFrom("JWT", "jwt"), fc.jsonValue({ maxDepth: 1 })),
        kid: fc.oneof(fc.constant(ed.ring.active().kid), fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 1 })),
      }, { requiredKeys: [] }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    fc.assert(fc.property(header, pickToken, (h, t) => {
      const [, p, s] = valid[t]!.split(".");
      return neverAccepted(`${b64u(h)}.${p}.${s}`);
    }), { seed: SEED + 40, numRuns: 1_000 });
  });

  it("tokens signed by an attacker's key under the issuer's kid, with random claims: 500 cases", () => {
    const claims = fc.oneof(
      fc.constant(goodClaims()),
      fc.tuple(fc.constantFrom(...Object.keys(goodClaims()), "cnf", "vh", "pay", "admin"), fc.jsonValue({ maxDepth: 2 }))
        .map(([k, v]) => goodClaims({ [k]: v })),
      fc.jsonValue({ maxDepth: 3 }),
    );
    fc.assert(fc.property(claims, (c) => neverAccepted(signWith(attacker, goodHeader(attacker), c))), { seed: SEED + 50, numRuns: 500 });
  });

  it("validly signed claims with one member replaced by a random JSON value: only AgentPayErrors, 1,000 cases", () => {
    const key = testKey();
    const verifier = new TokenVerifier(key.jwks);
    const names = [...Object.keys(goodClaims()), "cnf", "vh", "pay", "extra"];
    fc.assert(fc.property(fc.constantFrom(...names), fc.jsonValue({ maxDepth: 3 }), (name, value) => {
      cases += 1;
      const c = goodClaims({ [name]: value });
      try {
        const v = verifier.verify(signWith(key, goodHeader(key), c), { audience: ids.merchant, nowMs: NOW_MS });
        // accepted: then the random value happened to be a valid one, and is exactly what came back
        return JSON.stringify(v.claims[name as keyof typeof v.claims]) === JSON.stringify(value);
      } catch (e) {
        return e instanceof AgentPayError && TOKEN_CODES.has(e.code);
      }
    }), { seed: SEED + 60, numRuns: 1_000 });
  });
});
