import { createPublicKey, verify as cryptoVerify } from "node:crypto";
import { expect } from "chai";
import * as jose from "jose";
import { ManualClock } from "../../src/core/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import { TOKEN_TYP, jwkThumbprint, verifyTokenOffline } from "../../src/tokens/index.ts";
import type { TokenAlg } from "../../src/tokens/index.ts";
import { ISSUER, NOW_MS, goodClaims, ids, mintInput, openTokens } from "./helpers.ts";

/**
 * An independent verifier: nothing from src/tokens, only node:crypto and the published JWKS
 * (as JSON text, the way a merchant would fetch it).
 */
function independentVerify(token: string, jwksJson: string): Record<string, unknown> {
  const [h, p, s] = token.split(".");
  const header = JSON.parse(Buffer.from(h!, "base64url").toString("utf8"));
  const jwks = JSON.parse(jwksJson) as { keys: Array<Record<string, string>> };
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error("kid not in JWKS");
  if (jwk.alg !== header.alg) throw new Error("alg mismatch");
  const publicKey = createPublicKey({ key: jwk, format: "jwk" });
  const signingInput = Buffer.from(`${h}.${p}`, "ascii");
  const sig = Buffer.from(s!, "base64url");
  const ok = header.alg === "EdDSA"
    ? cryptoVerify(null, signingInput, publicKey, sig)
    : cryptoVerify("sha256", signingInput, { key: publicKey, dsaEncoding: "ieee-p1363" }, sig);
  if (!ok) throw new Error("bad signature");
  return JSON.parse(Buffer.from(p!, "base64url").toString("utf8"));
}

describe("tokens: interoperability", () => {
  for (const alg of ["EdDSA", "ES256"] as TokenAlg[]) {
    describe(alg, () => {
      it("node:crypto alone verifies a minted token against the published JWKS", async () => {
        const s = await openTokens(new MemoryStore(), new ManualClock(NOW_MS), { alg });
        const minted = s.issuer.mint(mintInput({ agentKeyThumbprint: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" }));
        const jwksJson = JSON.stringify(s.issuer.jwks());
        const claims = independentVerify(minted.token, jwksJson);
        expect(claims).to.deep.equal(minted.claims);
        // and it does reject a tampered one, so the check above means something
        const [h, p, sig] = minted.token.split(".");
        const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, amt: "1000000" })).toString("base64url")}.${sig}`;
        expect(() => independentVerify(forged, jwksJson)).to.throw("bad signature");
      });

      it("a standard JOSE library (jose) verifies it from the JWKS, typ and audience enforced", async () => {
        const s = await openTokens(new MemoryStore(), new ManualClock(NOW_MS), { alg });
        const minted = s.issuer.mint(mintInput());
        const JWKS = jose.createLocalJWKSet(JSON.parse(JSON.stringify(s.issuer.jwks())) as jose.JSONWebKeySet);
        const opts = { algorithms: [alg], typ: TOKEN_TYP, issuer: ISSUER, audience: ids.merchant, currentDate: new Date(NOW_MS + 1_000) };
        const { payload, protectedHeader } = await jose.jwtVerify(minted.token, JWKS, opts);
        expect(protectedHeader).to.deep.equal({ alg, typ: TOKEN_TYP, kid: minted.kid });
        expect(payload).to.deep.equal(minted.claims);
        let err: unknown;
        try {
          await jose.jwtVerify(minted.token, JWKS, { ...opts, audience: ids.otherMerchant });
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(jose.errors.JWTClaimValidationFailed);
      });

      it("the offline verifier accepts a token built by jose with the Token Pay claim set", async () => {
        const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
        const jwk = { ...(await jose.exportJWK(publicKey)), kid: "jose-key-1", alg, use: "sig" };
        const c = goodClaims();
        const token = await new jose.SignJWT(c as jose.JWTPayload)
          .setProtectedHeader({ alg, typ: TOKEN_TYP, kid: "jose-key-1" })
          .sign(privateKey);
        const v = verifyTokenOffline(token, { keys: [jwk] }, { audience: ids.merchant, issuer: ISSUER, nowMs: NOW_MS });
        expect(v.claims).to.deep.equal(c);
        expect(v.alg).to.equal(alg);
      });
    });
  }

  it("jwkThumbprint matches RFC 7638 (its published example) and jose, for OKP, EC and RSA keys", async () => {
    // RFC 7638 §3.1
    const rfc = {
      kty: "RSA", e: "AQAB", alg: "RS256", kid: "2011-04-29",
      n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
        + "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n"
        + "91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    };
    expect(jwkThumbprint(rfc)).to.equal("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    for (const alg of ["EdDSA", "ES256"] as const) {
      const { publicKey } = await jose.generateKeyPair(alg, { extractable: true });
      const jwk = await jose.exportJWK(publicKey);
      expect(jwkThumbprint({ ...jwk, kid: "ignored", use: "sig" })).to.equal(await jose.calculateJwkThumbprint(jwk, "sha256"));
    }
    for (const bad of [null, "x", {}, { kty: "oct", k: "AA" }, { kty: "OKP", crv: "Ed25519" }, { kty: "EC", crv: "P-256", x: "AA", y: 5 }]) {
      expect(() => jwkThumbprint(bad)).to.throw().with.property("code", "INVALID_INPUT");
    }
  });
});
