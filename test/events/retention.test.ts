import { expect } from "chai";
import { usd, world } from "../payments/helpers.ts";

describe("events: retention", () => {
  it("prunes finished events after the retention time, keeps webhooks that are still retrying", async () => {
    const w = await world();
    const { pay, client, clock } = w;
    const r = await client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("10.00") });
    if (r.status !== "approved") throw new Error("expected approval");
    await pay.payments.redeem({ token: r.token, merchantId: w.air.merchant.id, amount: usd("10.00"), idempotencyKey: "c" });
    const count = (p: string) => [...pay.engine.scan(p)].length;
    const events = count("ev/");
    expect(events).to.be.greaterThan(1);
    expect(await pay.events.prune({ olderThanMs: 3_600_000 })).to.equal(0); // too young
    clock.advance(3_600_001);
    // The captured event's webhook to SkyAir is still pending (delivery is off here): kept.
    const pruned = await pay.events.prune({ olderThanMs: 3_600_000 });
    expect(pruned).to.equal(events - 1);
    expect(count("ev/")).to.equal(1);
    // Its webhook delivery is a record; its topic delivery (never attempted) is still held in the event.
    expect([...pay.engine.scan<{ destination: { kind: string } }>("dl/")].map(([, d]) => d.destination.kind)).to.deep.equal(["webhook"]);
    const [[, kept]] = [...pay.engine.scan<{ id: string }>("ev/")] as [[string, { id: string }]];
    expect(pay.events.deliveries(kept.id).map((d) => d.destination.kind).sort()).to.deep.equal(["topic", "webhook"]);
    await pay.events.prune({ olderThanMs: 0, limit: 10 }).then((n) => expect(n).to.equal(0));
  });

  it("refuses bad options", async () => {
    const w = await world();
    for (const bad of [null, {}, { olderThanMs: -1 }, { olderThanMs: 1, limit: 0 }]) {
      let code = "";
      await w.pay.events.prune(bad as never).catch((e) => (code = e.code));
      expect(code).to.equal("INVALID_INPUT");
    }
  });
});
