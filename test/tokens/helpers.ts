import { generateKeyPairSync, sign } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { expect } from "chai";
import { AgentPayError, ManualClock, amount, newId } from "../../src/core/index.ts";
import { Engine, MemoryStore } from "../../src/engine/index.ts";
import { TokenIssuer, TokenKeyRing } from "../../src/tokens/index.ts";
import type { MintTokenInput, TokenAlg, TokenKeyRingOptions } from "../../src/tokens/index.ts";

export const ISSUER = "https://pay.example.test";

export interface Setup {
  engine: Engine;
  ring: TokenKeyRing;
  issuer: TokenIssuer;
  store: MemoryStore;
  clock: ManualClock;
}

/** An engine over `store`, a key ring and an issuer, loaded and initialised. */
export async function openTokens(
  store = new MemoryStore(),
  clock = new ManualClock(),
  ringOpts: TokenKeyRingOptions = {},
): Promise<Setup> {
  const engine = Engine.create({ store, clock });
  const ring = new TokenKeyRing(engine, ringOpts);
  await engine.load();
  await ring.init();
  const issuer = new TokenIssuer(ring, { issuer: ISSUER });
  return { engine, ring, issuer, store, clock };
}

export const ids = {
  agent: newId("agt"),
  merchant: newId("mer"),
  otherMerchant: newId("mer"),
  subWallet: newId("sw"),
};

export function mintInput(over: Partial<MintTokenInput> = {}): MintTokenInput {
  return {
    agentId: ids.agent,
    merchantId: ids.merchant,
    subWalletId: ids.subWallet,
    amount: amount("120.00", "USD"),
    category: "4511",
    ...over,
  };
}

/** Runs `fn`, which must throw an AgentPayError with `code`; returns the error. */
export function throwsCode(fn: () => unknown, code: string): AgentPayError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).to.be.instanceOf(AgentPayError);
  expect((err as AgentPayError).code, (err as Error).message).to.equal(code);
  return err as AgentPayError;
}

export const b64u = (v: unknown): string => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/** A key of our own, with its JWKS, so tests can sign any header and claims they like. */
export interface TestKey {
  alg: TokenAlg;
  kid: string;
  privateKey: KeyObject;
  jwks: { keys: Record<string, string>[] };
}

export function testKey(alg: TokenAlg = "EdDSA", kid = newId("tkey")): TestKey {
  const { privateKey, publicKey } = alg === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" }) as Record<string, string>;
  return { alg, kid, privateKey, jwks: { keys: [{ ...jwk, kid, alg, use: "sig" }] } };
}

/** Signs arbitrary header/claims (objects are JSON-encoded, strings used as-is) with `key`. */
export function signWith(key: TestKey, header: unknown, claims: unknown, signAlg: TokenAlg = key.alg): string {
  const input = `${b64u(header)}.${b64u(claims)}`;
  const sig = signAlg === "EdDSA"
    ? sign(null, Buffer.from(input), key.privateKey)
    : sign("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${sig.toString("base64url")}`;
}

export const NOW_MS = Date.UTC(2026, 0, 1);
export const NOW_S = NOW_MS / 1000;

/** A valid claim set for NOW_MS, as the issuer would mint it. */
export function goodClaims(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    jti: newId("tok"),
    iss: ISSUER,
    sub: ids.agent,
    aud: ids.merchant,
    sw: ids.subWallet,
    amt: "12000",
    cur: "USD",
    mcc: "4511",
    iat: NOW_S,
    nbf: NOW_S,
    exp: NOW_S + 600,
    ...over,
  };
}

export function goodHeader(key: TestKey, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: key.alg, typ: "agentpay-token+jwt", kid: key.kid, ...over };
}
