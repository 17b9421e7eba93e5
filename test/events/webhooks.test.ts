import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { AgentPayError } from "../../src/core/index.ts";
import { LevelStore, MemoryStore } from "../../src/engine/index.ts";
import { agentInitiatedHeaders, appendEvent, verifyWebhookSignature } from "../../src/events/index.ts";
import type { EventInput, EventRecord } from "../../src/events/index.ts";
import { SECRET, WebhookServer, openEvents, waitFor } from "./helpers.ts";

function paymentCaptured(url: string, n = 1): EventInput {
  return {
    type: "payment.captured",
    subject: { paymentId: `pay_${n}`, agentId: "agt_1", grantId: "gra_1", merchantId: "mer_1" },
    data: { amountMinor: 11_850n + BigInt(n), currency: "USD", reference: `order-${n}` },
    destinations: [{ kind: "webhook", url, secretRef: "mer_1", headers: agentInitiatedHeaders({ agentId: "agt_1", grantId: "gra_1" }) }],
  };
}

const resolveSecret = (ref: string) => (ref === "mer_1" ? SECRET : undefined);

function expectValid(r: { headers: Record<string, unknown>; body: string }, secret = SECRET): void {
  verifyWebhookSignature(secret, r.headers["agentpay-timestamp"] as string, r.body, r.headers["agentpay-signature"] as string, {
    toleranceMs: 600_000,
  });
}

describe("events: webhooks against a real HTTP server", () => {
  let server: WebhookServer;
  beforeEach(async () => {
    server = await new WebhookServer().listen();
  });
  afterEach(async () => {
    await server.close();
  });

  it("delivers every event despite the first N failures, each request signed and marked agent-initiated", async () => {
    server.failFirst = 2;
    const ev = await openEvents(new MemoryStore(), { resolveSecret });
    const events: EventRecord[] = [];
    for (let i = 1; i <= 5; i++) events.push(await ev.engine.submit((tx) => appendEvent(tx, paymentCaptured(server.url, i))));
    await waitFor(() => events.every((e) => ev.deliverer.deliveries(e.id)[0]!.status === "delivered"), "all delivered");

    for (const [i, e] of events.entries()) {
      const reqs = server.requestsFor(e.id);
      expect(reqs.map((r) => r.status)).to.deep.equal([500, 500, 200]);
      for (const r of reqs) {
        expectValid(r);
        expect(r.headers["content-type"]).to.equal("application/json");
        expect(r.headers["agentpay-event-type"]).to.equal("payment.captured");
        expect(r.headers["agentpay-initiator"]).to.equal("agent");
        expect(r.headers["agentpay-agent-id"]).to.equal("agt_1");
        expect(r.headers["agentpay-grant-id"]).to.equal("gra_1");
        expect(r.headers["agentpay-delivery-id"]).to.equal(e.deliveryIds[0]);
        const body = JSON.parse(r.body);
        expect(body).to.deep.equal({
          id: e.id, type: "payment.captured", createdAtMs: e.createdAtMs,
          subject: { paymentId: `pay_${i + 1}`, agentId: "agt_1", grantId: "gra_1", merchantId: "mer_1" },
          data: { amountMinor: String(11_850n + BigInt(i + 1)), currency: "USD", reference: `order-${i + 1}` },
        });
      }
      expect(reqs.map((r) => r.headers["agentpay-attempt"])).to.deep.equal(["1", "2", "3"]);
      // Every retry sends the same bytes.
      expect(new Set(reqs.map((r) => r.body)).size).to.equal(1);

      const [d] = ev.deliverer.deliveries(e.id);
      expect(d!.attempts).to.equal(3);
      expect(d!.log.map((a) => [a.attempt, a.ok, a.statusCode, a.error])).to.deep.equal([
        [1, false, 500, "http_500"], [2, false, 500, "http_500"], [3, true, 200, undefined],
      ]);
      for (const a of d!.log) expect(a.durationMs).to.be.a("number").and.at.least(0);
      expect(d!.deliveredAtMs).to.be.a("number");
    }
    expect(ev.deliverer.stats).to.include({ pending: 0, dead: 0, delivered: 5, failures: 10, attempts: 15 });
    await ev.close();
  });

  for (const kind of ["MemoryStore", "LevelStore"] as const) {
    it(`resumes delivery after a restart in the middle of the retries (${kind})`, async () => {
      server.failFirst = 4;
      const dir = kind === "LevelStore" ? await mkdtemp(join(tmpdir(), "agentpay-events-")) : "";
      const memory = new MemoryStore();
      const store = () => (kind === "LevelStore" ? new LevelStore(dir) : memory);
      try {
        const first = await openEvents(store(), { resolveSecret });
        const e1 = await first.engine.submit((tx) => appendEvent(tx, paymentCaptured(server.url, 1)));
        const e2 = await first.engine.submit((tx) => appendEvent(tx, paymentCaptured(server.url, 2)));
        await waitFor(() => server.requestsFor(e1.id).length >= 2 && server.requestsFor(e2.id).length >= 2, "two failed attempts each");
        await first.close(); // the process goes away mid-retries
        const sentBefore = server.received.length;
        expect(server.received.every((r) => r.status === 500)).to.equal(true);

        const second = await openEvents(store(), { resolveSecret });
        expect(second.deliverer.stats.pending).to.equal(2);
        await waitFor(() => [e1, e2].every((e) => second.deliverer.deliveries(e.id)[0]!.status === "delivered"), "delivered after restart");
        expect(server.received.length).to.be.greaterThan(sentBefore);
        for (const e of [e1, e2]) {
          const reqs = server.requestsFor(e.id);
          expect(reqs.map((r) => r.status)).to.deep.equal([500, 500, 500, 500, 200]);
          for (const r of reqs) expectValid(r);
          const [d] = second.deliverer.deliveries(e.id);
          // Attempts counted across both processes; the log holds every answered attempt.
          expect(d!.attempts).to.be.at.least(5);
          // (an attempt cut short by the shutdown is logged as "interrupted", without a status)
          expect(d!.log.filter((a) => !a.ok).length).to.be.at.least(4);
          expect(d!.log.every((a) => a.ok || a.statusCode === 500 || a.error === "interrupted")).to.equal(true);
          expect(d!.log.at(-1)).to.include({ ok: true, statusCode: 200 });
        }
        await second.close();

        // A third start delivers nothing more.
        const third = await openEvents(store(), { resolveSecret });
        expect(third.deliverer.stats.pending).to.equal(0);
        await third.close();
      } finally {
        if (dir) await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it("dead-letters after maxAttempts, and redeliver() puts it back in line", async () => {
    server.failFirst = 1_000;
    const ev = await openEvents(new MemoryStore(), { resolveSecret, maxAttempts: 3 });
    const e = await ev.engine.submit((tx) => appendEvent(tx, paymentCaptured(server.url)));
    await waitFor(() => ev.deliverer.deliveries(e.id)[0]!.status === "dead", "dead-lettered");
    const [d] = ev.deliverer.deliveries(e.id);
    expect(d!.attempts).to.equal(3);
    expect(d!.deadAtMs).to.be.a("number");
    expect(d!.log.map((a) => a.error)).to.deep.equal(["http_500", "http_500", "http_500"]);
    expect(server.requestsFor(e.id)).to.have.length(3);
    expect(ev.deliverer.deadLetters().map((x) => x.id)).to.deep.equal([d!.id]);
    expect(ev.deliverer.stats).to.include({ pending: 0, dead: 1, deadLettered: 1 });

    const notDead = await ev.deliverer.redeliver("dlv_nope").catch((x: unknown) => x);
    expect(notDead).to.be.instanceOf(AgentPayError).with.property("code", "DELIVERY_NOT_FOUND");

    server.failFirst = 0;
    server.okStatus = 204;
    await ev.deliverer.redeliver(d!.id);
    await waitFor(() => ev.deliverer.deliveries(e.id)[0]!.status === "delivered", "redelivered");
    expect(ev.deliverer.deadLetters()).to.have.length(0);
    expect(ev.deliverer.deliveries(e.id)[0]!.log.at(-1)).to.include({ ok: true, statusCode: 204 });
    const again = await ev.deliverer.redeliver(d!.id).catch((x: unknown) => x);
    expect(again).to.be.instanceOf(AgentPayError).with.property("code", "DELIVERY_NOT_DEAD");
    await ev.close();
  });

  it("a request that never answers times out and is retried", async () => {
    server.hang = true;
    const ev = await openEvents(new MemoryStore(), { resolveSecret, timeoutMs: 100, maxAttempts: 2 });
    const e = await ev.engine.submit((tx) => appendEvent(tx, paymentCaptured(server.url)));
    await waitFor(() => ev.deliverer.deliveries(e.id)[0]!.status === "dead", "dead after timeouts");
    expect(ev.deliverer.deliveries(e.id)[0]!.log.map((a) => a.error)).to.deep.equal(["timeout", "timeout"]);
    await ev.close();
  });

  it("records network errors by label, and never sends without a secret", async () => {
    const closed = await new WebhookServer().listen();
    await closed.close(); // nothing listens on its port any more
    const ev = await openEvents(new MemoryStore(), { resolveSecret, maxAttempts: 2 });
    const refused = await ev.engine.submit((tx) => appendEvent(tx, paymentCaptured(closed.url)));
    const noSecret = await ev.engine.submit((tx) =>
      appendEvent(tx, { type: "payment.captured", destinations: [{ kind: "webhook", url: server.url, secretRef: "mer_unknown" }] }));
    await waitFor(() => [refused, noSecret].every((e) => ev.deliverer.deliveries(e.id)[0]!.status === "dead"), "both dead");
    expect(ev.deliverer.deliveries(refused.id)[0]!.log.map((a) => a.error)).to.deep.equal(["ECONNREFUSED", "ECONNREFUSED"]);
    expect(ev.deliverer.deliveries(noSecret.id)[0]!.log.map((a) => a.error)).to.deep.equal(["secret_unavailable", "secret_unavailable"]);
    expect(server.received).to.have.length(0);
    await ev.close();
  });

  it("inline secrets sign too, and never show in delivery reports", async () => {
    const secret = "whsec_inline_secret_value_42";
    const ev = await openEvents();
    const e = await ev.engine.submit((tx) =>
      appendEvent(tx, { type: "notification", data: { n: 1n }, destinations: [{ kind: "webhook", url: server.url, secret }] }));
    await waitFor(() => ev.deliverer.deliveries(e.id)[0]!.status === "delivered", "delivered");
    expectValid(server.received[0]!, secret);
    const report = JSON.stringify(ev.deliverer.deliveries(e.id)) + JSON.stringify(ev.deliverer.delivery(e.deliveryIds[0]!));
    expect(report).not.to.include(secret);
    expect(ev.deliverer.deliveries(e.id)[0]!.destination).to.include({ kind: "webhook", hasSecret: true });
    await ev.close();
  });

  it("keeps to the concurrency limit and the bounded work queue", async () => {
    server.delayMs = 20;
    const ev = await openEvents(new MemoryStore(), { resolveSecret, concurrency: 2, maxQueue: 3 });
    const events = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ev.engine.submit((tx) => appendEvent(tx, paymentCaptured(server.url, i)))));
    let maxQueued = 0;
    await waitFor(() => {
      maxQueued = Math.max(maxQueued, ev.deliverer.stats.queued);
      return events.every((e) => ev.deliverer.deliveries(e.id)[0]!.status === "delivered");
    }, "all delivered");
    expect(server.maxInFlight).to.be.at.most(2);
    expect(maxQueued).to.be.at.most(3);
    expect(server.received).to.have.length(20);
    await ev.close();
  });

  it("sends nothing for an event whose batch never became durable", async () => {
    const store = new MemoryStore();
    const ev = await openEvents(store, { resolveSecret });
    store.failNextWrite = true;
    const err = await ev.engine.submit((tx) => appendEvent(tx, paymentCaptured(server.url))).catch((x: unknown) => x);
    expect(err).to.be.instanceOf(AgentPayError).with.property("code", "STORE_FAILURE");
    await new Promise((r) => setTimeout(r, 100));
    expect(server.received).to.have.length(0);
    await ev.deliverer.stop();
    await ev.engine.close().catch(() => {});
  });
});
