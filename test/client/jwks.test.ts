// MerchantClient.verify checks tokens OFFLINE from the issuer's JWKS: fetched once and cached by kid,
// for as long as the server's Cache-Control says, refetched once on an unknown kid (key rotation),
// still verifying when the issuer is down.
import { expect } from "chai";
import { amount } from "../../src/index.ts";
import { MerchantClient, cacheLifetimes } from "../../src/client/index.ts";
import { openWorld, rejection, setUp } from "./helpers.ts";
import type { Party, World } from "./helpers.ts";

const usd = (s: string) => amount(s, "USD");

async function token(p: Party, value = "10.00"): Promise<string> {
  const r = await p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd(value) });
  if (r.status !== "approved") throw new Error(`expected approved, got ${r.status}`);
  return r.token;
}

/** A token whose header names another kid (its signature no longer matters: the kid is looked up first). */
function withKid(t: string, kid: string): string {
  const [h, rest] = [t.slice(0, t.indexOf(".")), t.slice(t.indexOf("."))];
  const header = { ...JSON.parse(Buffer.from(h, "base64url").toString()), kid };
  return Buffer.from(JSON.stringify(header)).toString("base64url") + rest;
}

describe("client: MerchantClient verifies tokens offline from a cached JWKS", function () {
  this.timeout(60_000);
  let w: World;
  let p: Party;
  let nowMs: number;
  let merchant: MerchantClient;
  beforeEach(async () => {
    w = await openWorld();
    p = await setUp(w);
    nowMs = 1_000_000;
    merchant = new MerchantClient({ baseUrl: w.url, apiKey: p.merchantKey, merchantId: p.merchantId, jwks: { nowMs: () => nowMs } });
  });
  afterEach(async () => {
    await w.close();
  });

  it("fetches the JWKS once for many tokens, and keeps verifying when the issuer is gone", async () => {
    const tokens = [await token(p, "1.00"), await token(p, "2.00"), await token(p, "3.00")];
    for (const t of tokens) expect((await merchant.verify(t)).merchantId).to.equal(p.merchantId);
    expect(merchant.jwksFetches).to.equal(1);
    await w.close();
    const v = await merchant.verify(tokens[2]!);
    expect(v.amount).to.deep.equal(usd("3.00"));
    expect(merchant.jwksFetches, "the issuer was not asked").to.equal(1);
  });

  it("a rotated issuer key: the first token with the new kid refetches once; old tokens still verify", async () => {
    const old = await token(p);
    await merchant.verify(old);
    await w.pay.tokens.keyRing.rotate();
    const fresh = await token(p);
    expect(JSON.parse(Buffer.from(fresh.split(".")[0]!, "base64url").toString()).kid).to.not.equal(JSON.parse(Buffer.from(old.split(".")[0]!, "base64url").toString()).kid);
    expect((await merchant.verify(fresh)).tokenId).to.be.a("string");
    expect(merchant.jwksFetches).to.equal(2);
    await merchant.verify(old);
    await merchant.verify(fresh);
    expect(merchant.jwksFetches).to.equal(2);
  });

  it("an unknown kid: one refetch, then TOKEN_KEY_UNKNOWN; the same kid again asks nobody", async () => {
    const t = await token(p);
    await merchant.verify(t);
    const forged = withKid(t, "A".repeat(43));
    expect((await rejection(merchant.verify(forged))).code).to.equal("TOKEN_KEY_UNKNOWN");
    expect(merchant.jwksFetches).to.equal(2);
    nowMs += 5_000;
    expect((await rejection(merchant.verify(forged))).code).to.equal("TOKEN_KEY_UNKNOWN");
    expect((await rejection(merchant.verify(withKid(t, "B".repeat(43))))).code).to.equal("TOKEN_KEY_UNKNOWN");
    expect(merchant.jwksFetches, "one more for the new kid, none for the remembered one").to.equal(3);
    expect((await rejection(merchant.verify(withKid(t, "C".repeat(43))))).code).to.equal("TOKEN_KEY_UNKNOWN");
    expect(merchant.jwksFetches, "at most one unknown-kid refetch a second").to.equal(3);
  });

  it("honours the server's Cache-Control: fresh for max-age, then stale-while-revalidate, then refetched first", async () => {
    const t = await token(p);
    await merchant.verify(t);
    nowMs += 299_000;
    await merchant.verify(t);
    expect(merchant.jwksFetches).to.equal(1);
    nowMs += 2_000; // past max-age=300, within stale-while-revalidate=60: these keys now, new ones fetched behind
    await merchant.verify(t);
    for (let i = 0; i < 200 && merchant.jwksFetches < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(merchant.jwksFetches).to.equal(2);
    nowMs += 400_000; // past both: fetched before verifying
    await merchant.verify(t);
    expect(merchant.jwksFetches).to.equal(3);
  });

  it("a token for another merchant is refused offline (TOKEN_AUDIENCE_MISMATCH); garbage is TOKEN_MALFORMED", async () => {
    const other = await w.operator.merchants.register({ name: "Hotel Nord", category: "7011" });
    const theirs = new MerchantClient({ baseUrl: w.url, apiKey: other.apiKey.secret, merchantId: other.merchant.id });
    expect((await rejection(theirs.verify(await token(p)))).code).to.equal("TOKEN_AUDIENCE_MISMATCH");
    expect((await rejection(theirs.verify("not.a.token"))).code).to.match(/^TOKEN_/);
    expect((await rejection(theirs.verify(42 as never))).code).to.equal("TOKEN_MALFORMED");
  });

  it("no JWKS ever fetched and no issuer: CONNECTION_FAILED, an AgentPayError", async () => {
    const t = await token(p);
    await w.close();
    expect((await rejection(merchant.verify(t))).code).to.equal("CONNECTION_FAILED");
  });

  it("reads cache lifetimes as HTTP caches do", () => {
    expect(cacheLifetimes("public, max-age=300, stale-while-revalidate=60", null, 1)).to.deep.equal({ freshMs: 300_000, staleMs: 60_000 });
    expect(cacheLifetimes("max-age=300", "100", 1)).to.deep.equal({ freshMs: 200_000, staleMs: 0 });
    expect(cacheLifetimes("no-store", null, 1)).to.deep.equal({ freshMs: 0, staleMs: 0 });
    expect(cacheLifetimes("no-cache, max-age=60", null, 1)).to.deep.equal({ freshMs: 0, staleMs: 0 });
    expect(cacheLifetimes(null, null, 7_000)).to.deep.equal({ freshMs: 7_000, staleMs: 0 });
    expect(cacheLifetimes("max-age=99999999", null, 1).freshMs).to.equal(86_400_000);
    expect(cacheLifetimes("max-age=abc", null, 5)).to.deep.equal({ freshMs: 5, staleMs: 0 });
  });
});
