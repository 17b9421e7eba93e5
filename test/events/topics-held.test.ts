// Topic deliveries are held inside their event until their first attempt (no dl/ record before):
// they must still behave as pending deliveries everywhere (stats, reports, restart, prune, redeliver).
import { expect } from "chai";
import { AgentPayError } from "../../src/core/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import { appendEvent, deliveryKey, eventKey } from "../../src/events/index.ts";
import type { EventInput, EventRecord } from "../../src/events/index.ts";
import { openEvents, SECRET, waitFor } from "./helpers.ts";

/** A webhook endpoint that never answers (until the attempt is aborted). */
const hangingFetch = ((_url: string, init: { signal: AbortSignal }) =>
  new Promise((_resolve, reject) => init.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }))) as never;

const twoWays = (n: number): EventInput => ({
  type: "payment.captured",
  subject: { paymentId: `pay_${n}` },
  data: { amountMinor: BigInt(n) },
  destinations: [
    { kind: "topic", topic: "payments" },
    { kind: "webhook", url: "https://merchant.example/hooks", secret: SECRET },
    { kind: "topic", topic: "audit" },
  ],
});

describe("events: topic deliveries held in the event", () => {
  it("writes a record for the webhook only; the topic deliveries are pending in reports, stats and after a restart", async () => {
    const store = new MemoryStore();
    const ev = await openEvents(store, { fetch: hangingFetch });
    await ev.deliverer.stop();
    const rec = await ev.engine.submit((tx) => appendEvent(tx, twoWays(1)));
    expect(rec.deliveryIds).to.have.length(3);
    expect([...ev.engine.scan("dl/")].map(([k]) => k)).to.deep.equal([deliveryKey(rec.deliveryIds[1]!)]);
    const views = ev.deliverer.deliveries(rec.id);
    expect(views.map((d) => [d.id, d.destination.kind, d.status, d.attempts])).to.deep.equal([
      [rec.deliveryIds[0], "topic", "pending", 0], [rec.deliveryIds[1], "webhook", "pending", 0], [rec.deliveryIds[2], "topic", "pending", 0],
    ]);
    expect(ev.deliverer.delivery(rec.deliveryIds[2]!)).to.include({ status: "pending", eventId: rec.id });
    expect(ev.deliverer.stats.pending).to.equal(3);
    const err = await ev.deliverer.redeliver(rec.deliveryIds[0]!).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AgentPayError).with.property("code", "DELIVERY_NOT_DEAD");
    await ev.close();

    const again = await openEvents(store, { fetch: hangingFetch });
    expect(again.deliverer.stats.pending).to.equal(3);
    expect(again.deliverer.deliveries(rec.id).map((d) => d.status)).to.deep.equal(["pending", "pending", "pending"]);
    await again.close();
  });

  it("the first attempt writes the record and takes it out of the event; the others stay held", async () => {
    const ev = await openEvents(new MemoryStore(), { fetch: hangingFetch });
    const rec = await ev.engine.submit((tx) => appendEvent(tx, twoWays(2)));
    const got: string[] = [];
    ev.deliverer.subscribe((e) => void got.push(e.id), { topics: ["payments"] });
    await waitFor(() => ev.deliverer.delivery(rec.deliveryIds[0]!)?.status === "delivered", "payments topic delivered");
    expect(got).to.deep.equal([rec.id]);
    const stored = ev.engine.read<EventRecord>(eventKey(rec.id))!;
    expect(stored.topics).to.deep.equal([{ id: rec.deliveryIds[2], topic: "audit" }]);
    expect(ev.engine.read(deliveryKey(rec.deliveryIds[0]!))).to.include({ status: "delivered", attempts: 1 });
    expect(ev.engine.read(deliveryKey(rec.deliveryIds[2]!))).to.equal(undefined);
    expect(ev.deliverer.delivery(rec.deliveryIds[2]!)).to.include({ status: "pending", attempts: 0 });
    // The audit topic's subscriber arrives later: its delivery gets its record then, and the list empties.
    ev.deliverer.subscribe(() => {}, { topics: ["audit"] });
    await waitFor(() => ev.deliverer.delivery(rec.deliveryIds[2]!)?.status === "delivered", "audit topic delivered");
    expect(ev.engine.read<EventRecord>(eventKey(rec.id))!.topics).to.equal(undefined);
    expect(ev.deliverer.stats.pending).to.equal(1); // the webhook, whose request never answers
    await ev.close();
  });

  it("prune gives up on held topic deliveries nobody consumed: event gone, nothing pending", async () => {
    const ev = await openEvents(new MemoryStore());
    await ev.deliverer.stop();
    const rec = await ev.engine.submit((tx) => appendEvent(tx, { ...twoWays(3), destinations: [{ kind: "topic", topic: "payments" }] }));
    expect(ev.deliverer.stats.pending).to.equal(1);
    expect(await ev.deliverer.prune({ olderThanMs: 0 })).to.equal(1);
    expect(ev.engine.read(eventKey(rec.id))).to.equal(undefined);
    expect([...ev.engine.scan("dl/")]).to.have.length(0);
    expect(ev.deliverer.stats.pending).to.equal(0);
    expect(ev.deliverer.delivery(rec.deliveryIds[0]!)).to.equal(undefined);
    await ev.close();
  });
});
