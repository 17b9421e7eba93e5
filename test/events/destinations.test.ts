// Per-destination limits: a token bucket per destination (scheme, host, port) and a cap on its
// requests in flight, so one slow or hostile endpoint cannot starve the others. Time is a
// ManualClock: a bucket refills only when the test advances it.
import { expect } from "chai";
import { AgentPayError, ManualClock } from "../../src/core/index.ts";
import { Engine, MemoryStore } from "../../src/engine/index.ts";
import { appendEvent, EventDeliverer } from "../../src/events/index.ts";
import type { EventRecord } from "../../src/events/index.ts";
import { SECRET, WebhookServer, openEvents, waitFor } from "./helpers.ts";

const hook = (url: string, n: number) => ({
  type: "payment.captured", subject: { paymentId: `pay_${n}` }, data: { n },
  destinations: [{ kind: "webhook" as const, url, secret: SECRET }],
});

async function append(ev: { engine: Engine }, url: string, count: number, from = 0): Promise<EventRecord[]> {
  const out: EventRecord[] = [];
  for (let i = 0; i < count; i++) out.push(await ev.engine.submit((tx) => appendEvent(tx, hook(url, from + i))));
  return out;
}

describe("events: per-destination limits", () => {
  const servers: WebhookServer[] = [];
  const server = async () => {
    const s = await new WebhookServer().listen();
    servers.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  it("a token bucket per destination: a busy destination waits for tokens (no attempt spent), another is served at once", async () => {
    const clock = new ManualClock();
    const [busy, quiet] = [await server(), await server()];
    const ev = await openEvents(new MemoryStore(), { ratePerDestination: 1, burstPerDestination: 2 }, clock);
    const many = await append(ev, busy.url, 5);
    const few = await append(ev, quiet.url, 2, 100);
    await waitFor(() => few.every((e) => ev.deliverer.deliveries(e.id)[0]!.status === "delivered"), "the quiet destination served");
    await waitFor(() => busy.received.length === 2 && ev.deliverer.stats.throttled === 3, "the burst sent, the rest waiting");
    const waiting = many.filter((e) => ev.deliverer.deliveries(e.id)[0]!.status === "pending");
    expect(waiting).to.have.length(3);
    for (const e of waiting) expect(ev.deliverer.deliveries(e.id)[0]!.attempts).to.equal(0);

    clock.advance(1_000); // one token
    await waitFor(() => busy.received.length === 3 && ev.deliverer.stats.throttled === 2, "one more after a second");
    clock.advance(60_000); // the bucket holds at most 2
    await waitFor(() => busy.received.length === 5, "the rest");
    await waitFor(() => many.every((e) => ev.deliverer.deliveries(e.id)[0]!.status === "delivered"), "all delivered");
    expect(busy.received.map((r) => JSON.parse(r.body).data.n).sort()).to.deep.equal([0, 1, 2, 3, 4]);
    expect(ev.deliverer.stats).to.include({ throttled: 0, attempts: 7, delivered: 7, failures: 0 });
    await ev.close();
  });

  it("a slow destination holds at most its share of the slots: the others are still delivered", async () => {
    const [slow, fast] = [await server(), await server()];
    slow.hang = true; // never answers (until the attempt is aborted)
    const ev = await openEvents(new MemoryStore(), { concurrency: 2, concurrencyPerDestination: 1, timeoutMs: 60_000 });
    const stuck = await append(ev, slow.url, 6);
    await waitFor(() => slow.received.length === 1, "one request to the slow destination");
    const others = await append(ev, fast.url, 6, 100);
    await waitFor(() => others.every((e) => ev.deliverer.deliveries(e.id)[0]!.status === "delivered"), "the fast destination served");
    expect(slow.received).to.have.length(1);
    expect(slow.maxInFlight).to.equal(1);
    expect(ev.deliverer.stats.throttled).to.equal(5);
    expect(stuck.filter((e) => ev.deliverer.deliveries(e.id)[0]!.attempts === 0)).to.have.length(5);
    await ev.close(); // aborts the hanging request: rescheduled, not failed
    expect(stuck.every((e) => ev.deliverer.deliveries(e.id)[0]!.status === "pending")).to.equal(true);
  });

  it("waiting deliveries go back in line across stop() and start()", async () => {
    const clock = new ManualClock();
    const s = await server();
    const engine = Engine.create({ store: new MemoryStore(), clock });
    const deliverer = new EventDeliverer(engine, { allowPrivateNetworks: true, ratePerDestination: 1, burstPerDestination: 1, pollMs: 20, baseDelayMs: 10, maxDelayMs: 40 });
    await engine.load();
    deliverer.start();
    const events = await append({ engine }, s.url, 3);
    const delivered = () => events.filter((e) => deliverer.deliveries(e.id)[0]!.status === "delivered").length;
    await waitFor(() => delivered() === 1 && deliverer.stats.throttled === 2, "one delivered, two waiting");
    await deliverer.stop();
    expect(deliverer.stats).to.include({ throttled: 0, pending: 2 });
    clock.advance(10_000);
    deliverer.start(); // a fresh bucket of 1: one goes at once, the other after a token
    await waitFor(() => s.received.length === 2 && deliverer.stats.throttled === 1, "one more after the restart");
    clock.advance(10_000);
    await waitFor(() => events.every((e) => deliverer.deliveries(e.id)[0]!.status === "delivered"), "all delivered");
    expect(s.received).to.have.length(3);
    await deliverer.stop();
    await engine.close();
  });

  it("state is kept for at most maxDestinations idle destinations: a forgotten one starts with a full bucket", async () => {
    for (const [maxDestinations, forgotten] of [[2, true], [100, false]] as const) {
      const clock = new ManualClock();
      const [a, b, c] = [await server(), await server(), await server()];
      const ev = await openEvents(new MemoryStore(), { ratePerDestination: 1, burstPerDestination: 1, maxDestinations }, clock);
      for (const [i, s] of [a, b, c].entries()) {
        const [e] = await append(ev, s.url, 1, i);
        await waitFor(() => ev.deliverer.deliveries(e!.id)[0]!.status === "delivered", "one each, in turn");
      }
      // a's bucket is empty; with room for 2 destinations it was forgotten when c came.
      const [again] = await append(ev, a.url, 1, 3);
      if (forgotten) {
        await waitFor(() => ev.deliverer.deliveries(again!.id)[0]!.status === "delivered", "sent at once");
      } else {
        await waitFor(() => ev.deliverer.stats.throttled === 1, "waits for a token");
        expect(a.received).to.have.length(1);
      }
      await ev.close();
    }
  });

  it("refuses bad limits with INVALID_INPUT", () => {
    const engine = Engine.create({ store: new MemoryStore() });
    for (const bad of [
      { ratePerDestination: 0 }, { ratePerDestination: 1.5 }, { burstPerDestination: -1 }, { concurrencyPerDestination: 0 },
      { maxDestinations: 0 }, { lookup: "dns" }, { ca: ["not a certificate"] }, { allowPrivateNetworks: 1 }, { allowedNetworks: ["x"] },
    ]) {
      expect(() => new EventDeliverer(engine, bad as never), JSON.stringify(bad)).to.throw(AgentPayError).with.property("code", "INVALID_INPUT");
    }
  });
});
