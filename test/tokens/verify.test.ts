import { sign as derSign } from "node:crypto";
import { expect } from "chai";
import { AgentPayError, ManualClock, amount, newId } from "../../src/core/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import {
  MAX_TOKEN_CHARS, TOKEN_TYP, TokenErrorCodes, TokenIssuer, TokenVerifier, verifyTokenOffline,
} from "../../src/tokens/index.ts";
import {
  ISSUER, NOW_MS, NOW_S, b64u, goodClaims, goodHeader, ids, mintInput, openTokens, signWith, testKey, throwsCode,
} from "./helpers.ts";
import type { Setup, TestKey } from "./helpers.ts";

describe("tokens: mint and verify", () => {
  let s: Setup;
  beforeEach(async () => {
    s = await openTokens(new MemoryStore(), new ManualClock(NOW_MS));
  });

  describe("minting", () => {
    it("mints a compact JWS with the documented header and exact claim set", () => {
      const t = s.issuer.mint(mintInput());
      const [h, p, sig] = t.token.split(".");
      expect(JSON.parse(Buffer.from(h!, "base64url").toString())).to.deep.equal({
        alg: "EdDSA", typ: TOKEN_TYP, kid: s.ring.active().kid,
      });
      const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
      expect(Object.keys(claims).sort()).to.deep.equal(["amt", "aud", "cur", "exp", "iat", "iss", "jti", "mcc", "nbf", "sub", "sw"]);
      expect(claims).to.include({
        iss: ISSUER, sub: ids.agent, aud: ids.merchant, sw: ids.subWallet, amt: "12000", cur: "USD", mcc: "4511",
        iat: NOW_S, nbf: NOW_S, exp: NOW_S + 600,
      });
      expect(claims.jti).to.match(/^tok_[0-9a-z]{26}$/);
      expect(Buffer.from(sig!, "base64url")).to.have.length(64);
      expect(t.tokenId).to.equal(claims.jti);
      expect(t.expiresAtMs).to.equal(NOW_MS + 600_000);
      expect(t.amount).to.deep.equal({ minor: 12000n, currency: "USD" });
      expect(t.token.length).to.be.below(MAX_TOKEN_CHARS);
    });

    it("carries the optional claims: cnf.jkt, vh, pay, and a chosen ttl and token id", () => {
      const jkt = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
      const vh = "0x" + "ab".repeat(32);
      const tokenId = newId("tok");
      const paymentId = newId("pay");
      const t = s.issuer.mint(mintInput({ agentKeyThumbprint: jkt, voucherHash: vh, paymentId, tokenId, ttlMs: 60_000 }));
      expect(t.claims).to.deep.include({ cnf: { jkt }, vh, pay: paymentId, jti: tokenId, exp: NOW_S + 60 });
      const v = s.issuer.verify(t.token, { merchantId: ids.merchant });
      expect(v).to.deep.include({ agentKeyThumbprint: jkt, voucherHash: vh, paymentId, tokenId, expiresAtMs: NOW_MS + 60_000 });
      expect(v.claims).to.deep.equal(t.claims);
    });

    it("verifies what it minted, by the issuer and offline from the JWKS alone", () => {
      const t = s.issuer.mint(mintInput());
      const v = s.issuer.verify(t.token, { merchantId: ids.merchant });
      expect(v).to.deep.include({
        tokenId: t.tokenId, issuer: ISSUER, agentId: ids.agent, merchantId: ids.merchant, subWalletId: ids.subWallet,
        category: "4511", issuedAtMs: NOW_MS, notBeforeMs: NOW_MS, expiresAtMs: NOW_MS + 600_000, alg: "EdDSA",
      });
      expect(v.amount).to.deep.equal({ minor: 12000n, currency: "USD" });
      const jwks = JSON.parse(JSON.stringify(s.issuer.jwks()));
      const off = verifyTokenOffline(t.token, jwks, { audience: ids.merchant, issuer: ISSUER, nowMs: NOW_MS });
      expect(off.claims).to.deep.equal(v.claims);
      const verifier = new TokenVerifier(jwks);
      expect(verifier.kids).to.deep.equal([s.ring.active().kid]);
      expect(verifier.verify(t.token, { audience: ids.merchant, nowMs: NOW_MS + 1_000 }).tokenId).to.equal(t.tokenId);
    });

    it("refuses bad mint input with a clear code, before signing anything", () => {
      throwsCode(() => s.issuer.mint(mintInput({ agentId: "alice" })), "INVALID_ID");
      throwsCode(() => s.issuer.mint(mintInput({ merchantId: "" })), "INVALID_ID");
      throwsCode(() => s.issuer.mint(mintInput({ subWalletId: 42 as never })), "INVALID_ID");
      throwsCode(() => s.issuer.mint(mintInput({ paymentId: "pay-1" })), "INVALID_ID");
      throwsCode(() => s.issuer.mint(mintInput({ tokenId: newId("pay") })), "INVALID_ID");
      throwsCode(() => s.issuer.mint(mintInput({ amount: amount(0n, "USD") })), "INVALID_AMOUNT");
      throwsCode(() => s.issuer.mint(mintInput({ amount: { minor: -5n, currency: "USD" } })), "INVALID_AMOUNT");
      throwsCode(() => s.issuer.mint(mintInput({ amount: { minor: 5, currency: "USD" } as never })), "INVALID_AMOUNT");
      throwsCode(() => s.issuer.mint(mintInput({ amount: { minor: 5n, currency: "XXX" } })), "UNKNOWN_CURRENCY");
      throwsCode(() => s.issuer.mint(mintInput({ category: "45" })), "INVALID_INPUT");
      throwsCode(() => s.issuer.mint(mintInput({ category: 4511 as never })), "INVALID_INPUT");
      throwsCode(() => s.issuer.mint(mintInput({ ttlMs: 999 })), "INVALID_INPUT");
      throwsCode(() => s.issuer.mint(mintInput({ ttlMs: 3_600_001 })), "INVALID_INPUT");
      throwsCode(() => s.issuer.mint(mintInput({ ttlMs: 1.5 })), "INVALID_INPUT");
      throwsCode(() => s.issuer.mint(mintInput({ agentKeyThumbprint: "short" })), "INVALID_INPUT");
      throwsCode(() => s.issuer.mint(mintInput({ voucherHash: "0x" + "AB".repeat(32) })), "INVALID_INPUT");
      throwsCode(() => s.issuer.mint(mintInput({ nowMs: -1 })), "INVALID_INPUT");
      throwsCode(() => s.issuer.mint(null as never), "INVALID_INPUT");
      throwsCode(() => new TokenIssuer(s.ring, { issuer: "has space" }), "INVALID_INPUT");
      throwsCode(() => new TokenIssuer(s.ring, { issuer: ISSUER, defaultTtlMs: 2 * 3_600_000 }), "INVALID_INPUT");
    });

    it("caps the lifetime at the ring's maxTokenTtlMs", async () => {
      const t = await openTokens(new MemoryStore(), new ManualClock(NOW_MS), { maxTokenTtlMs: 120_000 });
      expect(t.issuer.defaultTtlMs).to.equal(120_000);
      throwsCode(() => t.issuer.mint(mintInput({ ttlMs: 120_001 })), "INVALID_INPUT");
      expect(t.issuer.mint(mintInput({ ttlMs: 120_000 })).expiresAtMs).to.equal(NOW_MS + 120_000);
    });
  });

  describe("issuer-side rejections (each with its own code, no state change)", () => {
    let token: string;
    let parts: [string, string, string];
    beforeEach(() => {
      token = s.issuer.mint(mintInput()).token;
      parts = token.split(".") as [string, string, string];
    });
    const verify = (t: unknown, merchant = ids.merchant) => () => s.issuer.verify(t, { merchantId: merchant });
    const withHeader = (h: unknown) => `${b64u(h)}.${parts[1]}.${parts[2]}`;

    afterEach(() => {
      // Verification is pure: it never writes (only the ring's first key was ever committed).
      expect(s.engine.stats.commands).to.equal(1);
    });

    it("TOKEN_MALFORMED: not a string, not three segments, empty segments, bad base64url or JSON", () => {
      for (const bad of [undefined, null, 42, {}, ["a", "b", "c"], Buffer.from(token)]) throwsCode(verify(bad), "TOKEN_MALFORMED");
      for (const bad of ["", ".", "..", "a.b", `${token}.x`, `${parts[0]}.${parts[1]}`, `${parts[0]}..${parts[2]}`,
        `.${parts[1]}.${parts[2]}`]) {
        throwsCode(verify(bad), "TOKEN_MALFORMED");
      }
      throwsCode(verify(`${parts[0]}=.${parts[1]}.${parts[2]}`), "TOKEN_MALFORMED"); // padding
      throwsCode(verify(`${parts[0]!.replace(/^./, "+")}.${parts[1]}.${parts[2]}`), "TOKEN_MALFORMED"); // base64, not base64url
      throwsCode(verify(withHeader("not json")), "TOKEN_MALFORMED");
      throwsCode(verify(withHeader([1, 2])), "TOKEN_MALFORMED");
      throwsCode(verify(withHeader("null")), "TOKEN_MALFORMED");
      throwsCode(verify(`${Buffer.from([0xff, 0xfe, 0x7b, 0x7d]).toString("base64url")}.${parts[1]}.${parts[2]}`), "TOKEN_MALFORMED");
      throwsCode(verify(withHeader("\uFEFF" + JSON.stringify({ alg: "EdDSA" }))), "TOKEN_MALFORMED"); // BOM
      throwsCode(verify(withHeader({ typ: TOKEN_TYP, kid: s.ring.active().kid })), "TOKEN_MALFORMED"); // no alg
      throwsCode(verify(withHeader({ alg: 5, typ: TOKEN_TYP })), "TOKEN_MALFORMED");
      throwsCode(verify(withHeader({ alg: "EdDSA", typ: TOKEN_TYP })), "TOKEN_MALFORMED"); // no kid
      throwsCode(verify(withHeader({ alg: "EdDSA", typ: TOKEN_TYP, kid: 7 })), "TOKEN_MALFORMED");
      throwsCode(verify(withHeader({ alg: "EdDSA", typ: TOKEN_TYP, kid: "has space" })), "TOKEN_MALFORMED");
    });

    it("TOKEN_MALFORMED: header parameters beyond alg, typ, kid (crit, jwk, jku, b64…)", () => {
      const kid = s.ring.active().kid;
      for (const extra of [{ crit: ["exp"] }, { jwk: { kty: "OKP" } }, { jku: "https://evil" }, { b64: false }, { x5u: "x" }, { cty: "JWT" }]) {
        throwsCode(verify(withHeader({ alg: "EdDSA", typ: TOKEN_TYP, kid, ...extra })), "TOKEN_MALFORMED");
      }
    });

    it("TOKEN_TOO_LARGE: longer than 4 KiB", () => {
      throwsCode(verify(token + "A".repeat(MAX_TOKEN_CHARS)), "TOKEN_TOO_LARGE");
      throwsCode(verify("x".repeat(MAX_TOKEN_CHARS + 1)), "TOKEN_TOO_LARGE");
      throwsCode(verify("x".repeat(10_000_000)), "TOKEN_TOO_LARGE");
    });

    it("TOKEN_ALG_NOT_ALLOWED: alg none (with or without a signature), HMAC, RSA, wrong case, alg not the key's", () => {
      const kid = s.ring.active().kid;
      // the unsecured JWT of RFC 7519 §6: alg none, empty signature
      throwsCode(verify(`${b64u({ alg: "none", typ: TOKEN_TYP, kid })}.${parts[1]}.`), "TOKEN_ALG_NOT_ALLOWED");
      throwsCode(verify(`${b64u({ alg: "none" })}.${parts[1]}.`), "TOKEN_ALG_NOT_ALLOWED");
      throwsCode(verify(`${b64u({ alg: "none", typ: TOKEN_TYP, kid })}.${parts[1]}.${parts[2]}`), "TOKEN_ALG_NOT_ALLOWED");
      throwsCode(verify(`${b64u({ alg: "none" })}.${parts[1]}.AA`), "TOKEN_ALG_NOT_ALLOWED");
      for (const alg of ["HS256", "RS256", "PS256", "ES384", "ES256K", "Ed25519", "eddsa", "EDDSA", "EdDSA ", ""]) {
        throwsCode(verify(withHeader({ alg, typ: TOKEN_TYP, kid })), "TOKEN_ALG_NOT_ALLOWED");
      }
      // an allowed alg, but not the one of the key the kid names (algorithm confusion)
      throwsCode(verify(withHeader({ alg: "ES256", typ: TOKEN_TYP, kid })), "TOKEN_ALG_NOT_ALLOWED");
    });

    it("TOKEN_TYPE_INVALID: missing, generic JWT, another profile's typ", () => {
      const kid = s.ring.active().kid;
      for (const typ of [undefined, "JWT", "at+jwt", "dpop+jwt", "agentpay-intent+jwt", "AGENTPAY-TOKEN+JWT", 1, null]) {
        const h = typ === undefined ? { alg: "EdDSA", kid } : { alg: "EdDSA", typ, kid };
        throwsCode(verify(withHeader(h)), "TOKEN_TYPE_INVALID");
      }
    });

    it("TOKEN_KEY_UNKNOWN: a kid the issuer never had", () => {
      throwsCode(verify(withHeader({ alg: "EdDSA", typ: TOKEN_TYP, kid: newId("tkey") })), "TOKEN_KEY_UNKNOWN");
    });

    it("TOKEN_SIGNATURE_INVALID: tampered claims, tampered or foreign signature, wrong length, non-canonical base64url", async () => {
      const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString());
      throwsCode(verify(`${parts[0]}.${b64u({ ...claims, amt: "9999999" })}.${parts[2]}`), "TOKEN_SIGNATURE_INVALID");
      const other = s.issuer.mint(mintInput()).token.split(".")[2];
      throwsCode(verify(`${parts[0]}.${parts[1]}.${other}`), "TOKEN_SIGNATURE_INVALID");
      throwsCode(verify(`${parts[0]}.${parts[1]}.${parts[2].slice(0, -2)}`), "TOKEN_SIGNATURE_INVALID");
      throwsCode(verify(`${parts[0]}.${parts[1]}.${parts[2]}AAAA`), "TOKEN_SIGNATURE_INVALID");
      throwsCode(verify(`${parts[0]}.${parts[1]}.`), "TOKEN_SIGNATURE_INVALID"); // stripped signature
      const flipped = parts[2][0] === "A" ? "B" + parts[2].slice(1) : "A" + parts[2].slice(1);
      throwsCode(verify(`${parts[0]}.${parts[1]}.${flipped}`), "TOKEN_SIGNATURE_INVALID");
      // 64 bytes → 86 chars whose last one carries 2 unused bits: other spellings of the same bytes are refused
      const last = parts[2].at(-1)!;
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const twin = alphabet[alphabet.indexOf(last) ^ 1]!;
      throwsCode(verify(`${parts[0]}.${parts[1]}.${parts[2].slice(0, -1)}${twin}`), "TOKEN_SIGNATURE_INVALID");
      // signed by an attacker's key under the issuer's kid
      const attacker = testKey("EdDSA", s.ring.active().kid);
      throwsCode(verify(signWith(attacker, goodHeader(attacker), goodClaims())), "TOKEN_SIGNATURE_INVALID");
      // a token from another issuer's ring with the same kid format
      const stranger = await openTokens(new MemoryStore(), new ManualClock(NOW_MS));
      const strangerToken = stranger.issuer.mint(mintInput()).token.split(".");
      throwsCode(verify(`${parts[0]}.${strangerToken[1]}.${strangerToken[2]}`), "TOKEN_SIGNATURE_INVALID");
    });

    it("TOKEN_AUDIENCE_MISMATCH: presented by another merchant", () => {
      const e = throwsCode(verify(token, ids.otherMerchant), "TOKEN_AUDIENCE_MISMATCH");
      expect(e.details).to.deep.equal({ expected: ids.otherMerchant });
    });

    it("TOKEN_ISSUER_MISMATCH: an issuer with the same keys but another name", () => {
      const other = new TokenIssuer(s.ring, { issuer: "https://other.example" });
      throwsCode(() => other.verify(token, { merchantId: ids.merchant }), "TOKEN_ISSUER_MISMATCH");
      throwsCode(() => verifyTokenOffline(token, s.issuer.jwks(), { audience: ids.merchant, issuer: "x", nowMs: NOW_MS }), "TOKEN_ISSUER_MISMATCH");
    });

    it("TOKEN_EXPIRED: at exp and after; valid one millisecond before", () => {
      s.clock.set(NOW_MS + 600_000 - 1);
      expect(s.issuer.verify(token, { merchantId: ids.merchant }).tokenId).to.be.a("string");
      s.clock.set(NOW_MS + 600_000);
      throwsCode(verify(token), "TOKEN_EXPIRED");
      throwsCode(() => s.issuer.verify(token, { merchantId: ids.merchant, nowMs: NOW_MS + 86_400_000 }), "TOKEN_EXPIRED");
      // a tolerance, when asked for, forgives a little skew and no more
      expect(s.issuer.verify(token, { merchantId: ids.merchant, clockToleranceMs: 1_000 }).tokenId).to.be.a("string");
      throwsCode(() => s.issuer.verify(token, { merchantId: ids.merchant, nowMs: NOW_MS + 601_000, clockToleranceMs: 1_000 }), "TOKEN_EXPIRED");
    });

    it("TOKEN_NOT_YET_VALID: before nbf/iat", () => {
      throwsCode(() => s.issuer.verify(token, { merchantId: ids.merchant, nowMs: NOW_MS - 1 }), "TOKEN_NOT_YET_VALID");
      expect(s.issuer.verify(token, { merchantId: ids.merchant, nowMs: NOW_MS - 1, clockToleranceMs: 1 }).tokenId).to.be.a("string");
    });

    it("bad verify options are INVALID_ID / INVALID_INPUT, still AgentPayErrors", () => {
      throwsCode(() => s.issuer.verify(token, { merchantId: "SkyAir" }), "INVALID_ID");
      throwsCode(() => s.issuer.verify(token, { merchantId: undefined as never }), "INVALID_ID");
      throwsCode(() => s.issuer.verify(token, null as never), "INVALID_INPUT");
      throwsCode(() => s.issuer.verify(token, { merchantId: ids.merchant, nowMs: Number.NaN }), "INVALID_INPUT");
      throwsCode(() => s.issuer.verify(token, { merchantId: ids.merchant, clockToleranceMs: 3_600_000 }), "INVALID_INPUT");
    });

    it("errors never carry the token", () => {
      for (const [t, m] of [[token, ids.otherMerchant], [token.slice(0, -3) + "AAA", ids.merchant]] as const) {
        try {
          s.issuer.verify(t, { merchantId: m });
          expect.fail("accepted");
        } catch (e) {
          expect(JSON.stringify(e)).not.to.include(parts[1]);
          expect(JSON.stringify(e)).not.to.include(parts[2]);
          expect((e as Error).message).not.to.include(parts[2]);
        }
      }
    });
  });

  describe("claim validation (offline verifier, tokens signed by a test key)", () => {
    let key: TestKey;
    beforeEach(() => {
      key = testKey();
    });
    const check = (claims: unknown, code = "TOKEN_CLAIMS_INVALID") =>
      throwsCode(() => verifyTokenOffline(signWith(key, goodHeader(key), claims), key.jwks, { audience: ids.merchant, nowMs: NOW_MS }), code);

    it("accepts the well-formed baseline", () => {
      const v = verifyTokenOffline(signWith(key, goodHeader(key), goodClaims()), key.jwks, { audience: ids.merchant, nowMs: NOW_MS });
      expect(v.amount.minor).to.equal(12000n);
    });

    it("refuses a missing required claim, each in turn", () => {
      for (const name of ["jti", "iss", "sub", "aud", "sw", "amt", "cur", "mcc", "iat", "nbf", "exp"]) {
        const c = goodClaims();
        delete c[name];
        const e = check(c);
        expect(e.details.claim).to.equal(name);
      }
    });

    it("refuses wrong types and formats, claim by claim", () => {
      const cases: Array<[string, unknown]> = [
        ["jti", "pay_0123456789"], ["jti", "tok_"], ["jti", 1], ["jti", "tok_ABCDEFGHIJ"],
        ["iss", ""], ["iss", "a b"], ["iss", "x".repeat(257)], ["iss", ["a"]], ["iss", "é"],
        ["sub", "alice"], ["sub", null], ["aud", [ids.merchant]], ["aud", { id: ids.merchant }], ["sw", 12],
        ["amt", 12000], ["amt", "0"], ["amt", "012"], ["amt", "-1"], ["amt", "1.5"], ["amt", "1e5"], ["amt", " 1"],
        ["amt", "1".repeat(40)], ["amt", "9".repeat(39)], ["amt", ""], ["amt", "１２"],
        ["cur", ""], ["cur", "US D"], ["cur", 840], ["cur", "x".repeat(65)],
        ["mcc", "451"], ["mcc", "45111"], ["mcc", 4511], ["mcc", "45a1"],
        ["iat", NOW_S + 0.5], ["iat", "1767225600"], ["iat", -1], ["iat", Number.MAX_SAFE_INTEGER],
        ["nbf", null], ["exp", NOW_S + 600.5], ["exp", 1e300],
        ["cnf", "x"], ["cnf", null], ["cnf", []], ["cnf", {}], ["cnf", { jkt: "short" }],
        ["cnf", { jkt: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", jwk: {} }], ["cnf", { jwk: { kty: "OKP" } }],
        ["vh", "ab".repeat(32)], ["vh", "0x" + "AB".repeat(32)], ["vh", "0x" + "ab".repeat(31)], ["vh", 1],
        ["pay", "payment-1"], ["pay", 5],
      ];
      for (const [name, value] of cases) {
        const e = check(goodClaims({ [name]: value }));
        expect(e.details.claim, `${name}=${JSON.stringify(value)}`).to.equal(name);
      }
    });

    it("refuses inconsistent times and an over-long lifetime", () => {
      check(goodClaims({ exp: NOW_S }));
      check(goodClaims({ exp: NOW_S - 1 }));
      check(goodClaims({ nbf: NOW_S - 1 }));
      check(goodClaims({ nbf: NOW_S + 600 }));
      check(goodClaims({ exp: NOW_S + 3601 }));
      // one hour exactly is the cap and is fine
      verifyTokenOffline(signWith(key, goodHeader(key), goodClaims({ exp: NOW_S + 3600 })), key.jwks, { audience: ids.merchant, nowMs: NOW_MS });
    });

    it("refuses claims that are not Token Pay's (strict claim set)", () => {
      for (const extra of [{ scope: "pay" }, { amount: "1" }, { __proto__x: 1 }, { admin: true }]) {
        check(goodClaims(extra));
      }
      // a literal "__proto__" member in the JSON is an own member, and refused like any other
      const json = JSON.stringify(goodClaims()).replace(/^\{/, '{"__proto__":{"admin":true},');
      check(json);
    });

    it("a validly signed payload that is not a JSON object is TOKEN_MALFORMED", () => {
      check("not json", "TOKEN_MALFORMED");
      check("[]", "TOKEN_MALFORMED");
      check("12", "TOKEN_MALFORMED");
      check("", "TOKEN_MALFORMED");
    });

    it("optional claims are accepted when well-formed", () => {
      const v = verifyTokenOffline(signWith(key, goodHeader(key), goodClaims({
        cnf: { jkt: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" }, vh: "0x" + "0f".repeat(32), pay: newId("pay"),
      })), key.jwks, { audience: ids.merchant, nowMs: NOW_MS });
      expect(v.agentKeyThumbprint).to.equal("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    });
  });

  describe("offline verifier", () => {
    it("verifyAsync (signature off the event loop) gives what verify gives: the same claims, or the same error code", async () => {
      for (const alg of ["EdDSA", "ES256"] as const) {
        const key = testKey(alg);
        const other = testKey(alg, key.kid); // same kid, another key: a forged signature
        const good = signWith(key, goodHeader(key), goodClaims());
        const [h, p, sig] = good.split(".") as [string, string, string];
        const flipped = Buffer.from(sig, "base64url");
        flipped[5] = flipped[5]! ^ 1;
        const cases: Array<[string, unknown, Record<string, unknown>?]> = [
          ["good", good],
          ["forged", signWith(other, goodHeader(key), goodClaims())],
          ["flipped signature bit", `${h}.${p}.${flipped.toString("base64url")}`],
          ["claims swapped", `${h}.${b64u(goodClaims({ amt: "99999" }))}.${sig}`],
          ["wrong audience", good, { audience: newId("mer") }],
          ["expired", good, { nowMs: NOW_MS + 3_600_000 }],
          ["unknown kid", signWith(key, goodHeader(key, { kid: newId("tkey") }), goodClaims())],
          ["alg none", `${b64u({ alg: "none", typ: TOKEN_TYP, kid: key.kid })}.${p}.`],
          ["bad claims", signWith(key, goodHeader(key), goodClaims({ mcc: "12" }))],
          ["not a token", "a.b"],
          ["not a string", 42],
          ["bad options", good, { audience: "nope" }],
        ];
        const verifier = new TokenVerifier(key.jwks);
        for (const [name, token, over] of cases) {
          const opts = { audience: ids.merchant, nowMs: NOW_MS, ...over };
          let want: unknown;
          try {
            want = verifier.verify(token, opts);
          } catch (e) {
            want = (e as AgentPayError).code;
          }
          let got: unknown;
          const pending = verifier.verifyAsync(token, opts);
          try {
            got = await pending;
          } catch (e) {
            got = (e as AgentPayError).code;
          }
          expect(got, `${alg} ${name}`).to.deep.equal(want);
          if (name === "good") expect(typeof want, name).to.equal("object");
          else expect(typeof want, name).to.equal("string");
        }
      }
    });

    it("ES256 keys: signs with r||s and verifies; a DER signature is refused", () => {
      const key = testKey("ES256");
      const v = verifyTokenOffline(signWith(key, goodHeader(key), goodClaims()), key.jwks, { audience: ids.merchant, nowMs: NOW_MS });
      expect(v.alg).to.equal("ES256");
      const [h, p] = signWith(key, goodHeader(key), goodClaims()).split(".");
      const der = derSignature(key, `${h}.${p}`);
      throwsCode(() => verifyTokenOffline(`${h}.${p}.${der}`, key.jwks, { audience: ids.merchant, nowMs: NOW_MS }), "TOKEN_SIGNATURE_INVALID");
    });

    it("has a default 30 s clock tolerance, configurable up to 5 minutes", () => {
      const key = testKey();
      const t = signWith(key, goodHeader(key), goodClaims());
      const at = (nowMs: number, clockToleranceMs?: number) => () =>
        verifyTokenOffline(t, key.jwks, { audience: ids.merchant, nowMs, ...(clockToleranceMs !== undefined ? { clockToleranceMs } : {}) });
      at(NOW_MS - 30_000)();
      at(NOW_MS + 600_000 + 29_999)();
      throwsCode(at(NOW_MS - 30_001), "TOKEN_NOT_YET_VALID");
      throwsCode(at(NOW_MS + 630_000), "TOKEN_EXPIRED");
      throwsCode(at(NOW_MS + 600_000, 0), "TOKEN_EXPIRED");
      throwsCode(at(NOW_MS, 300_001), "INVALID_INPUT");
      // iat in the future is not yet valid either, even if nbf were earlier
      throwsCode(() => verifyTokenOffline(signWith(key, goodHeader(key), goodClaims({ iat: NOW_S + 60, nbf: NOW_S + 60, exp: NOW_S + 600 })), key.jwks,
        { audience: ids.merchant, nowMs: NOW_MS }), "TOKEN_NOT_YET_VALID");
    });

    it("TOKEN_JWKS_INVALID for something that is not a JWK Set; unusable keys are skipped", () => {
      const key = testKey();
      const t = signWith(key, goodHeader(key), goodClaims());
      for (const bad of [null, 1, "jwks", {}, { keys: {} }, { keys: "x" }, { keys: Array(101).fill({}) },
        { keys: [key.jwks.keys[0], key.jwks.keys[0]] }]) {
        throwsCode(() => verifyTokenOffline(t, bad, { audience: ids.merchant, nowMs: NOW_MS }), "TOKEN_JWKS_INVALID");
      }
      const jwk = key.jwks.keys[0]!;
      for (const unusable of [
        { ...jwk, use: "enc" }, { ...jwk, alg: "ES256" }, { ...jwk, kty: "RSA" }, { ...jwk, crv: "X25519" },
        { ...jwk, x: "AAAA" }, { ...jwk, kid: undefined }, { ...jwk, kid: "a b" }, null, "x",
      ]) {
        const verifier = new TokenVerifier({ keys: [unusable] });
        expect(verifier.kids).to.deep.equal([]);
        throwsCode(() => verifier.verify(t, { audience: ids.merchant, nowMs: NOW_MS }), "TOKEN_KEY_UNKNOWN");
      }
      // a JWK that also carries a private member is used for its public part only
      const verifier = new TokenVerifier({ keys: [{ ...jwk, d: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }] });
      expect(verifier.verify(t, { audience: ids.merchant, nowMs: NOW_MS }).alg).to.equal("EdDSA");
    });

    it("bad options are AgentPayErrors", () => {
      const key = testKey();
      const t = signWith(key, goodHeader(key), goodClaims());
      throwsCode(() => verifyTokenOffline(t, key.jwks, { audience: "mer" } as never), "INVALID_ID");
      throwsCode(() => verifyTokenOffline(t, key.jwks, null as never), "INVALID_INPUT");
      throwsCode(() => verifyTokenOffline(t, key.jwks, { audience: ids.merchant, issuer: "" }), "INVALID_INPUT");
      throwsCode(() => verifyTokenOffline(t, key.jwks, { audience: ids.merchant, nowMs: -5 }), "INVALID_INPUT");
    });
  });

  it("exports one distinct code per rejection path", () => {
    expect(new Set(TokenErrorCodes).size).to.equal(TokenErrorCodes.length);
    expect(TokenErrorCodes).to.include.members([
      "TOKEN_MALFORMED", "TOKEN_TOO_LARGE", "TOKEN_ALG_NOT_ALLOWED", "TOKEN_TYPE_INVALID", "TOKEN_KEY_UNKNOWN",
      "TOKEN_SIGNATURE_INVALID", "TOKEN_CLAIMS_INVALID", "TOKEN_ISSUER_MISMATCH", "TOKEN_AUDIENCE_MISMATCH",
      "TOKEN_EXPIRED", "TOKEN_NOT_YET_VALID",
    ]);
    expect(new AgentPayError("TOKEN_EXPIRED", "x")).to.be.instanceOf(Error);
  });
});

/** An ECDSA signature in DER (what node:crypto gives by default), not the r||s that JWS wants. */
function derSignature(key: TestKey, input: string): string {
  return derSign("sha256", Buffer.from(input), key.privateKey).toString("base64url");
}
