import { expect } from "chai";
import { ManualClock } from "../../src/core/index.ts";
import { Engine, MemoryStore } from "../../src/engine/index.ts";
import { TokenIssuer, TokenKeyRing, verifyTokenOffline } from "../../src/tokens/index.ts";

describe("tokens: mintAsync", () => {
  for (const alg of ["EdDSA", "ES256"] as const) {
    it(`signs off the event loop with the same claims and a verifiable ${alg} signature`, async () => {
      const clock = new ManualClock();
      const engine = Engine.create({ store: new MemoryStore(), clock });
      const ring = new TokenKeyRing(engine, { alg });
      await engine.load();
      await ring.init();
      const issuer = new TokenIssuer(ring, { issuer: "agentpay" });
      const input = {
        agentId: "agt_aaaaaaaaaaaa", merchantId: "mer_bbbbbbbbbbbb", subWalletId: "sw_cccccccccccc",
        amount: { minor: 1234n, currency: "USD" }, category: "4511", tokenId: "tok_dddddddddddd",
      };
      const a = issuer.mint(input);
      const b = await issuer.mintAsync(input);
      expect(b.claims).to.deep.equal(a.claims);
      expect(b.token.split(".").slice(0, 2)).to.deep.equal(a.token.split(".").slice(0, 2));
      const v = verifyTokenOffline(b.token, issuer.jwks(), { audience: input.merchantId, nowMs: clock.nowMs() });
      expect(v.amount.minor).to.equal(1234n);
      expect(issuer.verify(b.token, { merchantId: input.merchantId }).tokenId).to.equal("tok_dddddddddddd");
    });
  }
});
