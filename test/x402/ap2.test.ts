// A grant as Google AP2's IntentMandate, validated against the schema of the published type
// (test/fixtures/ap2: generated from ap2.models.mandate.IntentMandate, see its README), as a library call
// and over HTTP for the person, the operator and the agent holding the grant.
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { expect } from "chai";
import { ManualClock, isAgentPayError, requestSignatureBody, signIntent } from "../../src/index.ts";
import { serve } from "../../src/http/index.ts";
import { grantIntentMandate, INTENT_MANDATE_DATA_KEY } from "../../src/x402/index.ts";
import { x402World } from "./helpers.ts";
import type { X402World } from "./helpers.ts";

const schema = JSON.parse(readFileSync(new URL("../fixtures/ap2/intent_mandate.schema.json", import.meta.url), "utf8")) as { properties: Record<string, unknown>; required: string[] };
const ajv = new Ajv2020({ strict: false, allErrors: true });
const valid = ajv.compile(schema);
// Pydantic ignores unknown fields; a mandate we send carries none.
const exact = ajv.compile({ ...schema, additionalProperties: false });

function checked(m: unknown): Record<string, unknown> {
  expect(valid(m), JSON.stringify(valid.errors)).to.equal(true);
  expect(exact(m), JSON.stringify(exact.errors)).to.equal(true);
  return m as Record<string, unknown>;
}

describe("AP2: a grant as an IntentMandate", function () {
  this.timeout(60_000);
  let w: X402World;
  afterEach(async () => { await w.close().catch(() => {}); });

  it("describes the sub-wallet's limits, merchants and expiry; cart confirmation unless the person signs it", async () => {
    const clock = new ManualClock(Date.parse("2026-12-04T10:00:00Z"));
    w = await x402World({ pay: { clock }, policy: { perPayment: "150.00", daily: "300.00", monthly: "1000.00", approvalAbove: "100.00", categories: { allow: ["4511", "7011"] } } });
    const grant = (await w.pay.grants.list({ agentId: w.agentId }))[0]!;
    await w.pay.wallets.updatePolicy(w.subWalletId, {
      perPayment: "150.00", daily: "300.00", monthly: "1000.00", approvalAbove: "100.00", categories: { allow: ["4511", "7011"] }, merchants: { allow: [w.merchantA] },
    });
    const m = checked(grantIntentMandate(w.pay, grant.id));
    expect(INTENT_MANDATE_DATA_KEY).to.equal("ap2.mandates.IntentMandate");
    expect(m.user_cart_confirmation_required).to.equal(true);
    expect(m.merchants).to.deep.equal(["Weather API"]);
    expect(m.skus).to.equal(null);
    expect(m.requires_refundability).to.equal(false);
    const d = m.natural_language_description as string;
    for (const s of ["researcher", "api calls", "150.00 USD per payment", "300.00 USD a day", "1000.00 USD a month", "only at Weather API", "4511, 7011",
      "payments above 100.00 USD need the person's approval", grant.id]) expect(d).to.include(s);
    expect(m.intent_expiry).to.equal("2026-12-05T10:00:00.000Z");
    // Signed by the person: the agent may buy without cart confirmation, unless every payment needs approval.
    expect(checked(grantIntentMandate(w.pay, grant.id, { signedByUser: true })).user_cart_confirmation_required).to.equal(false);
    await w.pay.wallets.updatePolicy(w.subWalletId, { approvalAbove: "0.00" });
    expect(checked(grantIntentMandate(w.pay, grant.id, { signedByUser: true })).user_cart_confirmation_required).to.equal(true);
    expect(checked(grantIntentMandate(w.pay, grant.id)).merchants).to.equal(null);
  });

  it("expires with the grant when the grant ends first; a revoked grant or a frozen sub-wallet has no mandate", async () => {
    w = await x402World();
    const session = await w.pay.grants.create({ subWalletId: w.subWalletId, agentId: w.agentId, scopes: ["pay"], mode: "session", expiresIn: "2h" });
    const m = checked(grantIntentMandate(w.pay, session.id, { maxTtlMs: 30 * 86_400_000 }));
    expect(Date.parse(m.intent_expiry as string)).to.equal(session.expiresAtMs);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isAgentPayError(e) ? e.code : "?";
      }
      return "none";
    };
    expect(code(() => grantIntentMandate(w.pay, session.id, { maxTtlMs: 5 }))).to.equal("INVALID_INPUT");
    expect(code(() => grantIntentMandate(w.pay, "gnt_nope"))).to.equal("INVALID_ID");
    const readOnly = await w.pay.grants.create({ subWalletId: w.subWalletId, agentId: w.agentId, scopes: ["balance:read"], mode: "persistent" });
    expect(code(() => grantIntentMandate(w.pay, readOnly.id))).to.equal("GRANT_SCOPE_MISSING");
    await w.pay.wallets.freeze(w.subWalletId);
    expect(code(() => grantIntentMandate(w.pay, session.id))).to.equal("SUBWALLET_FROZEN");
    await w.pay.wallets.unfreeze(w.subWalletId);
    await w.pay.grants.revoke(session.id);
    expect(code(() => grantIntentMandate(w.pay, session.id))).to.equal("GRANT_REVOKED");
  });

  it("GET /v1/grants/{id}/ap2-intent-mandate for the person and the agent itself (test/http/authz covers every caller); others see nothing", async () => {
    w = await x402World({ pay: { clock: new ManualClock(Date.now()) } });
    const server = await serve(w.pay, { port: 0, rateLimit: false });
    try {
      const grant = (await w.pay.grants.list({ agentId: w.agentId }))[0]!;
      const alice = (await w.pay.apiKeys.create({ kind: "person", ownerId: "alice" })).secret;
      const bob = (await w.pay.apiKeys.create({ kind: "person", ownerId: "bob" })).secret;
      const path = `/v1/grants/${grant.id}/ap2-intent-mandate?signedByUser=true&maxTtlS=3600`;
      const get = (auth?: string) => fetch(`${server.url}${path}`, { headers: auth ? { authorization: auth } : {} });
      const asAlice = await get(`Bearer ${alice}`);
      expect(asAlice.status).to.equal(200);
      const m = checked(await asAlice.json());
      expect(m).to.deep.equal(grantIntentMandate(w.pay, grant.id, { signedByUser: true, maxTtlMs: 3_600_000 }));
      const sig = await signIntent(w.agentJwk, { agentId: w.agentId, nowMs: Date.now(), body: requestSignatureBody("GET", path, "") });
      const asAgent = await get(`Agent ${sig}`);
      expect(asAgent.status).to.equal(200);
      checked(await asAgent.json());
      expect((await get(`Bearer ${bob}`)).status).to.equal(404);
      expect((await get(`Bearer ${w.keyA}`)).status).to.equal(403);
      expect((await get()).status).to.equal(401);
    } finally {
      await server.close();
    }
  });
});
