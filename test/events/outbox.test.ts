import { expect } from "chai";
import { AgentPayError } from "../../src/core/index.ts";
import { Engine, MemoryStore } from "../../src/engine/index.ts";
import { appendEvent, deliveryKey, eventKey, EventDeliverer } from "../../src/events/index.ts";
import type { DeliveryRecord, EventInput, EventRecord } from "../../src/events/index.ts";
import { SECRET } from "./helpers.ts";

async function open(store = new MemoryStore()) {
  const engine = Engine.create({ store });
  const deliverer = new EventDeliverer(engine); // never started: these tests look at the outbox only
  await engine.load();
  return { engine, deliverer };
}

const input = (over: Partial<EventInput> = {}): EventInput => ({
  type: "payment.captured",
  subject: { paymentId: "pay_1", agentId: "agt_1" },
  data: { amountMinor: 12_050n, currency: "USD", items: [1, "two", null, { deep: 10n ** 30n }] },
  destinations: [
    { kind: "webhook", url: "https://merchant.example/hooks", secret: SECRET, headers: { "AgentPay-Initiator": "agent" } },
    { kind: "topic", topic: "notifications" },
  ],
  ...over,
});

describe("events: outbox", () => {
  it("writes the event and one pending delivery per destination in the caller's command", async () => {
    const store = new MemoryStore();
    const { engine, deliverer } = await open(store);
    const ev = await engine.submit((tx) => {
      tx.put("state/x", { balance: 1n });
      return appendEvent(tx, input());
    });
    expect(ev.id).to.match(/^evt_/);
    expect(ev.deliveryIds).to.have.length(2);
    const ds = deliverer.deliveries(ev.id);
    expect(ds.map((d) => d.status)).to.deep.equal(["pending", "pending"]);
    expect(ds.map((d) => d.attempts)).to.deep.equal([0, 0]);
    expect(deliverer.stats.pending).to.equal(2);
    await engine.close();

    // Reopen: the event, its bigint data and its deliveries are durable; the deliverer reloads them.
    const again = await open(store);
    const stored = again.engine.read<EventRecord>(eventKey(ev.id))!;
    expect(stored.data).to.deep.equal({ amountMinor: 12_050n, currency: "USD", items: [1, "two", null, { deep: 10n ** 30n }] });
    expect(again.engine.read<DeliveryRecord>(deliveryKey(ev.deliveryIds[0]!))!.destination).to.include({ kind: "webhook" });
    expect(again.deliverer.stats.pending).to.equal(2);
    expect(again.deliverer.event(ev.id)!.subject).to.deep.equal({ paymentId: "pay_1", agentId: "agt_1" });
    await again.engine.close();
  });

  it("a failing command leaves no event and no delivery, in memory or in the store", async () => {
    const store = new MemoryStore();
    const { engine, deliverer } = await open(store);
    let eventId = "";
    const err = await engine.submit((tx) => {
      tx.put("state/x", { balance: 1n });
      eventId = appendEvent(tx, input()).id;
      throw new AgentPayError("INSUFFICIENT_FUNDS", "no money");
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AgentPayError).with.property("code", "INSUFFICIENT_FUNDS");
    expect(eventId).to.match(/^evt_/);
    expect(engine.read(eventKey(eventId))).to.equal(undefined);
    expect([...engine.scan("ev/")]).to.have.length(0);
    expect([...engine.scan("dl/")]).to.have.length(0);
    expect(deliverer.stats.pending).to.equal(0);
    expect(store.size).to.equal(0);
    await engine.close();
  });

  it("a store failure after the command discards the event with the batch", async () => {
    const store = new MemoryStore();
    const { engine } = await open(store);
    store.failNextWrite = true;
    const err = await engine.submit((tx) => appendEvent(tx, input())).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AgentPayError).with.property("code", "STORE_FAILURE");
    await engine.close().catch(() => {});
    const again = await open(store);
    expect([...again.engine.scan("ev/")]).to.have.length(0);
    expect(again.deliverer.stats.pending).to.equal(0);
    await again.engine.close();
  });

  const badInputs: Array<[string, () => unknown]> = [
    ["not an object", () => null],
    ["bad type", () => input({ type: "Payment Captured" })],
    ["destinations not an array", () => ({ ...input(), destinations: "x" })],
    ["too many destinations", () => input({ destinations: Array.from({ length: 17 }, () => ({ kind: "topic", topic: "t" }) as const) })],
    ["unknown destination kind", () => input({ destinations: [{ kind: "email", to: "a@b" } as never] })],
    ["relative url", () => input({ destinations: [{ kind: "webhook", url: "/hooks", secret: SECRET }] })],
    ["ftp url", () => input({ destinations: [{ kind: "webhook", url: "ftp://x.example/", secret: SECRET }] })],
    ["url with credentials", () => input({ destinations: [{ kind: "webhook", url: "https://u:p@x.example/", secret: SECRET }] })],
    ["no secret", () => input({ destinations: [{ kind: "webhook", url: "https://x.example/" }] })],
    ["secret and secretRef", () => input({ destinations: [{ kind: "webhook", url: "https://x.example/", secret: SECRET, secretRef: "mer_1" }] })],
    ["short secret", () => input({ destinations: [{ kind: "webhook", url: "https://x.example/", secret: "short" }] })],
    ["reserved header", () => input({ destinations: [{ kind: "webhook", url: "https://x.example/", secret: SECRET, headers: { "AgentPay-Signature": "v1=00" } }] })],
    ["header injection", () => input({ destinations: [{ kind: "webhook", url: "https://x.example/", secret: SECRET, headers: { "X-A": "a\r\nX-B: b" } }] })],
    ["bad topic", () => input({ destinations: [{ kind: "topic", topic: "" }] })],
    ["subject not ids", () => input({ subject: { paymentId: 5 as never } })],
    ["data with a function", () => input({ data: { f: (() => 1) as never } })],
    ["data with NaN", () => input({ data: { n: Number.NaN } })],
    ["data with a Date", () => input({ data: { d: new Date() as never } })],
    ["cyclic data", () => {
      const a: Record<string, unknown> = {};
      a.self = a;
      return input({ data: a as never });
    }],
    ["oversized data", () => input({ data: "x".repeat(70_000) })],
  ];
  for (const [name, make] of badInputs) {
    it(`rejects bad input (${name}) with INVALID_INPUT, changes nothing, leaks no secret`, async () => {
      const { engine } = await open();
      const err = await engine.submit((tx) => {
        tx.put("state/x", 1);
        appendEvent(tx, make() as EventInput);
      }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(AgentPayError).with.property("code", "INVALID_INPUT");
      expect(JSON.stringify((err as AgentPayError).toJSON()) + (err as Error).message).not.to.include(SECRET);
      expect(engine.read("state/x")).to.equal(undefined);
      expect([...engine.scan("ev/")]).to.have.length(0);
      await engine.close();
    });
  }
});

describe("events: outbox data size", () => {
  it("accepts data up to the limit, measured exactly when its bound is over, and refuses beyond it", async () => {
    const engine = Engine.create({ store: new MemoryStore() });
    await engine.load();
    const ev = (data: unknown) => engine.submit((tx) => appendEvent(tx, { type: "notification", data: data as never, destinations: [] }));
    // 30,000 plain characters: bounded at ~180 KB (every character escaped), really ~30 KB: accepted.
    await ev({ note: "a".repeat(30_000) });
    // 12,000 characters that each escape to 6: ~72 KB encoded: refused, and nothing written.
    const before = engine.stats.records;
    let code = "";
    await ev({ note: "\u0001".repeat(12_000) }).catch((e: AgentPayError) => (code = e.code));
    expect(code).to.equal("INVALID_INPUT");
    expect(engine.stats.records).to.equal(before);
    await ev({ note: "b".repeat(70_000) }).catch((e: AgentPayError) => (code = `${e.code}!`));
    expect(code).to.equal("INVALID_INPUT!");
  });
});
