import { expect } from "chai";
import { AgentPayError } from "../../src/core/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import { appendEvent, NOTIFICATIONS_TOPIC } from "../../src/events/index.ts";
import type { Event, EventInput, EventRecord } from "../../src/events/index.ts";
import { openEvents, waitFor } from "./helpers.ts";

const onTopic = (topic: string, n: number): EventInput => ({
  type: "payment.authorized",
  subject: { paymentId: `pay_${n}` },
  data: { amountMinor: BigInt(n) * 100n, nested: { list: [1n, 2n] } },
  destinations: [{ kind: "topic", topic }],
});

describe("events: in-process consumers", () => {
  it("subscribe() receives topic events with bigint data intact, each delivery acknowledged", async () => {
    const ev = await openEvents();
    const got: Array<[Event, string, number]> = [];
    ev.deliverer.subscribe((e, ctx) => {
      got.push([e, ctx.topic, ctx.attempt]);
    });
    const records: EventRecord[] = [];
    for (let i = 1; i <= 3; i++) records.push(await ev.engine.submit((tx) => appendEvent(tx, onTopic("payments", i))));
    await waitFor(() => records.every((r) => ev.deliverer.deliveries(r.id)[0]!.status === "delivered"), "delivered");
    expect(got.map(([e]) => e.id).sort()).to.deep.equal(records.map((r) => r.id).sort());
    const first = got.find(([e]) => e.id === records[0]!.id)!;
    expect(first[0]).to.deep.equal({
      id: records[0]!.id, type: "payment.authorized", createdAtMs: records[0]!.createdAtMs,
      subject: { paymentId: "pay_1" }, data: { amountMinor: 100n, nested: { list: [1n, 2n] } },
    });
    expect(first.slice(1)).to.deep.equal(["payments", 1]);
    await ev.close();
  });

  it("a subscriber cannot change the stored event by mutating what it received", async () => {
    const ev = await openEvents();
    ev.deliverer.subscribe((e) => {
      (e.data as Record<string, unknown>).amountMinor = 0n;
      e.subject.paymentId = "tampered";
    });
    const r = await ev.engine.submit((tx) => appendEvent(tx, onTopic("payments", 7)));
    await waitFor(() => ev.deliverer.deliveries(r.id)[0]!.status === "delivered", "delivered");
    expect(ev.deliverer.event(r.id)).to.deep.include({ subject: { paymentId: "pay_7" }, data: { amountMinor: 700n, nested: { list: [1n, 2n] } } });
    await ev.close();
  });

  it("a throwing subscriber gets the event again, until it succeeds or the delivery dies", async () => {
    const ev = await openEvents(new MemoryStore(), { maxAttempts: 4 });
    let calls = 0;
    ev.deliverer.subscribe(() => {
      calls += 1;
      if (calls < 3) throw new Error("busy");
    }, { topics: ["flaky"] });
    let deadCalls = 0;
    ev.deliverer.subscribe(async () => {
      deadCalls += 1;
      throw new AgentPayError("INVALID_INPUT", "never");
    }, { topics: ["broken"] });
    const ok = await ev.engine.submit((tx) => appendEvent(tx, onTopic("flaky", 1)));
    const dead = await ev.engine.submit((tx) => appendEvent(tx, onTopic("broken", 2)));
    await waitFor(() => ev.deliverer.deliveries(ok.id)[0]!.status === "delivered", "flaky delivered");
    await waitFor(() => ev.deliverer.deliveries(dead.id)[0]!.status === "dead", "broken dead");
    expect(calls).to.equal(3);
    expect(ev.deliverer.deliveries(ok.id)[0]!.log.map((a) => a.error ?? "ok")).to.deep.equal(["subscriber_error", "subscriber_error", "ok"]);
    expect(deadCalls).to.equal(4);
    await ev.close();
  });

  it("topic deliveries wait, spending no attempts, until someone subscribes; topics filter", async () => {
    const ev = await openEvents();
    const other: Event[] = [];
    ev.deliverer.subscribe((e) => void other.push(e), { topics: ["other"] });
    const r = await ev.engine.submit((tx) => appendEvent(tx, onTopic(NOTIFICATIONS_TOPIC, 1)));
    await new Promise((res) => setTimeout(res, 80));
    expect(ev.deliverer.deliveries(r.id)[0]).to.include({ status: "pending", attempts: 0 });
    expect(other).to.have.length(0);
    const got: Event[] = [];
    ev.deliverer.subscribe((e) => void got.push(e), { topics: [NOTIFICATIONS_TOPIC] });
    await waitFor(() => got.length === 1, "delivered to the new subscriber");
    await waitFor(() => ev.deliverer.deliveries(r.id)[0]!.status === "delivered", "acknowledged");
    expect(ev.deliverer.deliveries(r.id)[0]!.attempts).to.equal(1);
    expect(other).to.have.length(0);
    await ev.close();
  });

  it("events() is an async iterator; an event taken by a finished loop body is acknowledged", async () => {
    const ev = await openEvents();
    const records: EventRecord[] = [];
    for (let i = 1; i <= 4; i++) records.push(await ev.engine.submit((tx) => appendEvent(tx, onTopic("stream", i))));
    const seen: string[] = [];
    for await (const e of ev.deliverer.events({ topics: ["stream"] })) {
      seen.push(e.id);
      if (seen.length === 4) break;
    }
    expect([...seen].sort()).to.deep.equal(records.map((r) => r.id).sort());
    await waitFor(() => records.every((r) => ev.deliverer.deliveries(r.id)[0]!.status === "delivered"), "all acknowledged");
    await ev.close();
  });

  it("an event offered to an iterator nobody reads is offered again later", async () => {
    const ev = await openEvents(new MemoryStore(), { timeoutMs: 50 });
    const it = ev.deliverer.events();
    const r = await ev.engine.submit((tx) => appendEvent(tx, onTopic("slow", 1)));
    await waitFor(() => ev.deliverer.deliveries(r.id)[0]!.attempts >= 2, "a timed-out offer and a retry");
    expect(ev.deliverer.deliveries(r.id)[0]!.log[0]).to.include({ ok: false, error: "timeout" });
    const next = await it.next();
    expect(next.value!.id).to.equal(r.id);
    await it.return!();
    await waitFor(() => ev.deliverer.deliveries(r.id)[0]!.status === "delivered", "acknowledged on return");
    await ev.close();
  });

  it("pending topic deliveries survive a restart and reach the next process's subscriber", async () => {
    const store = new MemoryStore();
    const first = await openEvents(store);
    const r = await first.engine.submit((tx) => appendEvent(tx, onTopic("later", 1)));
    await first.close();
    const second = await openEvents(store);
    const got: Event[] = [];
    second.deliverer.subscribe((e) => void got.push(e));
    await waitFor(() => second.deliverer.deliveries(r.id)[0]!.status === "delivered", "delivered after restart");
    expect(got.map((e) => e.id)).to.deep.equal([r.id]);
    await second.close();
  });
});
