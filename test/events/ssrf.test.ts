// Webhook URLs are chosen by merchants and fetched by the server (SSRF): private, loopback and
// link-local destinations are refused unless the operator allows them; a name is resolved once
// per attempt, every address is checked, and the request goes to a checked ("pinned") address.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { AgentPayError } from "../../src/core/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import { appendEvent, verifyWebhookSignature, WebhookAddressPolicy } from "../../src/events/index.ts";
import type { EventRecord, HostLookup, ResolvedAddress } from "../../src/events/index.ts";
import { usd, world } from "../payments/helpers.ts";
import { FAST, SECRET, WebhookServer, openEvents, waitFor } from "./helpers.ts";

const STRICT = { allowPrivateNetworks: false } as const;
const hook = (url: string, n = 1) => ({
  type: "payment.captured", subject: { paymentId: `pay_${n}` }, data: { n },
  destinations: [{ kind: "webhook" as const, url, secret: SECRET }],
});

/** A resolver of our own: answers from `table`, counting the calls per name. */
function fakeDns(table: Record<string, ResolvedAddress[] | ((call: number) => ResolvedAddress[])>) {
  const calls = new Map<string, number>();
  const lookup: HostLookup = async (hostname) => {
    const n = (calls.get(hostname) ?? 0) + 1;
    calls.set(hostname, n);
    const answer = table[hostname];
    if (answer === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return typeof answer === "function" ? answer(n) : answer;
  };
  return { lookup, calls };
}
const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

describe("events: webhook destinations and SSRF", () => {
  let server: WebhookServer;
  beforeEach(async () => {
    server = await new WebhookServer().listen();
  });
  afterEach(async () => {
    await server.close();
  });

  it("real DNS: localhost is refused by default (dead-lettered at once, nothing sent); allowed, it is delivered to the address it resolved to", async () => {
    const url = `http://localhost:${server.port}/hooks`;
    const store = new MemoryStore();
    const strict = await openEvents(store, STRICT);
    const e = await strict.engine.submit((tx) => appendEvent(tx, hook(url)));
    await waitFor(() => strict.deliverer.deliveries(e.id)[0]!.status === "dead", "refused");
    const [d] = strict.deliverer.deliveries(e.id);
    expect(d!.attempts).to.equal(1); // not retried: retrying cannot change the answer
    expect(d!.log).to.have.length(1);
    expect(d!.log[0]).to.include({ ok: false, error: "destination_refused" });
    expect(d!.log[0]!.address).to.be.oneOf(["127.0.0.1", "::1"]);
    expect(strict.deliverer.deadLetters().map((x) => x.id)).to.deep.equal([d!.id]);
    expect(server.received).to.have.length(0);
    await strict.close();

    // The operator allows private networks and puts the dead letter back in line.
    const allowed = await openEvents(store, { allowPrivateNetworks: true });
    await allowed.deliverer.redeliver(d!.id);
    await waitFor(() => allowed.deliverer.deliveries(e.id)[0]!.status === "delivered", "delivered");
    expect(server.received).to.have.length(1);
    const got = server.received[0]!;
    expect(got.headers.host).to.equal(`localhost:${server.port}`);
    expect(got.localAddress).to.equal("127.0.0.1");
    expect(allowed.deliverer.deliveries(e.id)[0]!.log.at(-1)).to.include({ ok: true, statusCode: 200, address: "127.0.0.1" });
    verifyWebhookSignature(SECRET, got.headers["agentpay-timestamp"] as string, got.body, got.headers["agentpay-signature"] as string, { toleranceMs: 600_000 });
    await allowed.close();
  });

  it("literal private, loopback, link-local and special addresses are refused without a lookup or a connection", async () => {
    const p = server.port;
    const urls = [
      `http://127.0.0.1:${p}/hooks`, `http://10.0.0.1:${p}/`, `http://172.16.5.4:${p}/`, `http://192.168.1.1:${p}/`,
      "http://169.254.169.254/latest/meta-data/", `http://0.0.0.0:${p}/`, "http://100.64.0.1/", "http://224.0.0.1/",
      "http://255.255.255.255/", `http://[::1]:${p}/`, `http://[::ffff:127.0.0.1]:${p}/`, "http://[::ffff:10.1.2.3]/",
      "http://[::]/", "http://[fe80::1]/", "http://[fd00::1]/", "http://[fec0::1]/", "http://[ff02::1]/",
      "http://[64:ff9b::a00:1]/", "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::1]/", "http://[2001::1]/",
      `http://0x7f.1:${p}/`, `http://2130706433:${p}/`, // other spellings of 127.0.0.1 (the URL parser normalises them)
    ];
    const dns = fakeDns({});
    const ev = await openEvents(new MemoryStore(), { ...STRICT, lookup: dns.lookup });
    const events: EventRecord[] = [];
    for (const [i, url] of urls.entries()) events.push(await ev.engine.submit((tx) => appendEvent(tx, hook(url, i))));
    await waitFor(() => events.every((e) => ev.deliverer.deliveries(e.id)[0]!.status === "dead"), "all refused");
    for (const e of events) {
      const [d] = ev.deliverer.deliveries(e.id);
      expect(d!.log.map((a) => a.error), d!.destination.kind === "webhook" ? d!.destination.url : "").to.deep.equal(["destination_refused"]);
    }
    expect(dns.calls.size).to.equal(0);
    expect(server.received).to.have.length(0);
    expect(ev.deliverer.stats).to.include({ pending: 0, dead: urls.length, attempts: urls.length, deadLettered: urls.length });
    await ev.close();
  });

  it("a name is refused if ANY of its addresses is refused; allowed, the request goes to a checked address with the URL's name", async () => {
    const dns = fakeDns({
      "hooks.test": [v4("127.0.0.1")],
      "mixed.test": [v4("93.184.215.14"), v4("127.0.0.1")],
      "mapped.test": [v6("::ffff:192.168.0.10")],
      "junk.test": [{ address: "not-an-ip", family: 4 }],
    });
    const strict = await openEvents(new MemoryStore(), { ...STRICT, lookup: dns.lookup });
    const names = ["hooks.test", "mixed.test", "mapped.test", "junk.test"];
    const events: EventRecord[] = [];
    for (const [i, name] of names.entries()) events.push(await strict.engine.submit((tx) => appendEvent(tx, hook(`http://${name}:${server.port}/hooks`, i))));
    await waitFor(() => events.every((e) => strict.deliverer.deliveries(e.id)[0]!.status === "dead"), "all refused");
    expect(events.map((e) => strict.deliverer.deliveries(e.id)[0]!.log[0]!.address)).to.deep.equal(["127.0.0.1", "127.0.0.1", "::ffff:192.168.0.10", "invalid"]);
    expect(server.received).to.have.length(0);
    await strict.close();

    const open = await openEvents(new MemoryStore(), { allowPrivateNetworks: true, lookup: dns.lookup });
    const e = await open.engine.submit((tx) => appendEvent(tx, hook(`http://hooks.test:${server.port}/hooks?x=1`)));
    await waitFor(() => open.deliverer.deliveries(e.id)[0]!.status === "delivered", "delivered");
    // "hooks.test" exists only in our resolver: the request can only have gone to the address it gave.
    expect(server.received[0]!.headers.host).to.equal(`hooks.test:${server.port}`);
    await open.close();
  });

  it("pins the checked address: a resolver that rebinds after the check cannot redirect the request", async () => {
    // 127.0.0.2 is allowed by name (allowedNetworks), 127.0.0.1 is not. The resolver answers
    // 127.0.0.2 once, then 127.0.0.1 ("rebinding"); a second resolution would be refused.
    const pinned = await new WebhookServer().listen("127.0.0.2");
    let other: WebhookServer | undefined;
    try {
      other = await new WebhookServer().listen("127.0.0.1", pinned.port);
    } catch {
      other = undefined; // the port is taken on 127.0.0.1: the check below is then on `pinned` alone
    }
    const dns = fakeDns({ "rebind.test": (call) => [v4(call === 1 ? "127.0.0.2" : "127.0.0.1")] });
    const ev = await openEvents(new MemoryStore(), { ...STRICT, allowedNetworks: ["127.0.0.2/32"], lookup: dns.lookup });
    try {
      const e = await ev.engine.submit((tx) => appendEvent(tx, hook(`http://rebind.test:${pinned.port}/hooks`)));
      await waitFor(() => ev.deliverer.deliveries(e.id)[0]!.status === "delivered", "delivered");
      expect(dns.calls.get("rebind.test")).to.equal(1); // resolved once for the attempt
      expect(pinned.received).to.have.length(1);
      expect(pinned.received[0]!.localAddress).to.equal("127.0.0.2");
      expect(pinned.received[0]!.headers.host).to.equal(`rebind.test:${pinned.port}`);
      expect(ev.deliverer.deliveries(e.id)[0]!.log.at(-1)).to.include({ ok: true, address: "127.0.0.2" });
      if (other) expect(other.received).to.have.length(0);

      // The next attempt resolves again and is checked again: now refused.
      const e2 = await ev.engine.submit((tx) => appendEvent(tx, hook(`http://rebind.test:${pinned.port}/hooks`, 2)));
      await waitFor(() => ev.deliverer.deliveries(e2.id)[0]!.status === "dead", "refused after rebinding");
      expect(ev.deliverer.deliveries(e2.id)[0]!.log[0]).to.include({ error: "destination_refused", address: "127.0.0.1" });
      expect(pinned.received).to.have.length(1);
      if (other) expect(other.received).to.have.length(0);
    } finally {
      await ev.close();
      await pinned.close();
      await other?.close();
    }
  });

  it("HTTPS to a pinned address: SNI and the certificate check use the URL's name", async () => {
    const here = new URL(".", import.meta.url).pathname;
    const tls = { key: readFileSync(`${here}fixtures/hooks.test.key`, "utf8"), cert: readFileSync(`${here}fixtures/hooks.test.pem`, "utf8") };
    const secure = await new WebhookServer().listen("127.0.0.1", 0, tls);
    const dns = fakeDns({ "hooks.test": [v4("127.0.0.1")] });
    const ev = await openEvents(new MemoryStore(), { allowPrivateNetworks: true, lookup: dns.lookup, ca: tls.cert, maxAttempts: 1 });
    try {
      const ok = await ev.engine.submit((tx) => appendEvent(tx, hook(`https://hooks.test:${secure.port}/hooks`)));
      await waitFor(() => ev.deliverer.deliveries(ok.id)[0]!.status === "delivered", "delivered over TLS");
      expect(secure.received[0]).to.include({ servername: "hooks.test", localAddress: "127.0.0.1" });
      expect(secure.received[0]!.headers.host).to.equal(`hooks.test:${secure.port}`);

      // The same server by address: its certificate does not name 127.0.0.1, so nothing is sent.
      const byIp = await ev.engine.submit((tx) => appendEvent(tx, hook(`https://127.0.0.1:${secure.port}/hooks`, 2)));
      await waitFor(() => ev.deliverer.deliveries(byIp.id)[0]!.status === "dead", "refused by TLS");
      expect(ev.deliverer.deliveries(byIp.id)[0]!.log[0]!.error).to.equal("ERR_TLS_CERT_ALTNAME_INVALID");
      expect(secure.received).to.have.length(1);
    } finally {
      await ev.close();
      await secure.close();
    }
  });

  it("never follows a redirect", async () => {
    const target = await new WebhookServer().listen();
    server.redirectTo = target.url;
    const ev = await openEvents(new MemoryStore(), { maxAttempts: 2 });
    const e = await ev.engine.submit((tx) => appendEvent(tx, hook(server.url)));
    await waitFor(() => ev.deliverer.deliveries(e.id)[0]!.status === "dead", "dead");
    expect(ev.deliverer.deliveries(e.id)[0]!.log.map((a) => [a.statusCode, a.error])).to.deep.equal([[302, "http_302"], [302, "http_302"]]);
    expect(server.received).to.have.length(2);
    expect(target.received).to.have.length(0);
    await ev.close();
    await target.close();
  });

  it("a name that does not resolve is retried (not refused); an empty answer is labelled", async () => {
    const dns = fakeDns({ "empty.test": [] });
    const ev = await openEvents(new MemoryStore(), { ...STRICT, lookup: dns.lookup, maxAttempts: 2 });
    const missing = await ev.engine.submit((tx) => appendEvent(tx, hook("https://nowhere.test/hooks")));
    const empty = await ev.engine.submit((tx) => appendEvent(tx, hook("https://empty.test/hooks", 2)));
    await waitFor(() => [missing, empty].every((e) => ev.deliverer.deliveries(e.id)[0]!.status === "dead"), "dead");
    expect(ev.deliverer.deliveries(missing.id)[0]!.log.map((a) => a.error)).to.deep.equal(["ENOTFOUND", "ENOTFOUND"]);
    expect(ev.deliverer.deliveries(empty.id)[0]!.log.map((a) => a.error)).to.deep.equal(["dns_no_address", "dns_no_address"]);
    expect(dns.calls.get("nowhere.test")).to.equal(2);
    await ev.close();
  });

  it("with a transport of your own (fetch), literal refused addresses and localhost names are still refused", async () => {
    let calls = 0;
    const fetch = (async () => {
      calls += 1;
      return new Response("ok", { status: 200 });
    }) as typeof globalThis.fetch;
    const ev = await openEvents(new MemoryStore(), { ...STRICT, fetch });
    const refused: EventRecord[] = [];
    for (const [i, url] of ["http://127.0.0.1/", "http://[::1]/", "http://localhost/", "http://api.localhost./", "http://169.254.169.254/"].entries()) {
      refused.push(await ev.engine.submit((tx) => appendEvent(tx, hook(url, i))));
    }
    const fine = await ev.engine.submit((tx) => appendEvent(tx, hook("https://merchant.example/hooks", 9)));
    await waitFor(() => refused.every((e) => ev.deliverer.deliveries(e.id)[0]!.status === "dead"), "refused");
    await waitFor(() => ev.deliverer.deliveries(fine.id)[0]!.status === "delivered", "delivered through the custom transport");
    expect(refused.map((e) => ev.deliverer.deliveries(e.id)[0]!.log[0]!.error)).to.deep.equal(Array(5).fill("destination_refused"));
    expect(calls).to.equal(1);
    await ev.close();
  });
});

describe("events: WebhookAddressPolicy", () => {
  const table: Array<[string, boolean]> = [
    ["8.8.8.8", true], ["93.184.215.14", true], ["1.1.1.1", true], ["172.15.255.255", true], ["172.32.0.1", true],
    ["100.63.255.255", true], ["100.128.0.1", true], ["2606:4700:4700::1111", true], ["2a00:1450:4001::200e", true],
    ["::ffff:8.8.8.8", true], ["64:ff9b::808:808", true], ["2002:808:808::1", true],
    ["127.0.0.1", false], ["127.255.255.254", false], ["10.255.255.255", false], ["172.16.0.1", false], ["172.31.255.255", false],
    ["192.168.0.1", false], ["169.254.169.254", false], ["100.64.0.1", false], ["100.127.255.255", false], ["0.0.0.0", false],
    ["0.1.2.3", false], ["192.0.0.8", false], ["192.0.2.1", false], ["198.18.0.1", false], ["198.51.100.1", false],
    ["203.0.113.1", false], ["224.0.0.251", false], ["239.255.255.250", false], ["240.0.0.1", false], ["255.255.255.255", false],
    ["::", false], ["::1", false], ["::ffff:127.0.0.1", false], ["::ffff:7f00:1", false], ["::ffff:169.254.169.254", false],
    ["::127.0.0.1", false], ["::ffff:0:10.0.0.1", false], ["64:ff9b::10.0.0.1", false], ["64:ff9b:1::1", false],
    ["2002:a00:1::1", false], ["2002:c0a8:101::1", false], ["2001::1", false], ["2001:db8::1", false], ["100::1", false],
    ["fc00::1", false], ["fd12:3456:789a::1", false], ["fe80::1", false], ["febf::1", false], ["fec0::1", false],
    ["ff02::1", false], ["fe80::1%eth0", false], ["not-an-ip", false], ["", false],
  ];
  const policy = new WebhookAddressPolicy();
  for (const [address, allowed] of table) {
    it(`${allowed ? "allows" : "refuses"} ${address || "(empty)"}`, () => {
      expect(policy.allows(address)).to.equal(allowed);
    });
  }

  it("allowedNetworks opens exactly the ranges named; allowPrivateNetworks opens everything", () => {
    const p = new WebhookAddressPolicy({ allowedNetworks: ["10.20.0.0/16", "fd00:1::/64", "127.0.0.2"] });
    expect([p.allows("10.20.1.2"), p.allows("10.21.0.1"), p.allows("fd00:1::5"), p.allows("fd00:2::5")]).to.deep.equal([true, false, true, false]);
    expect([p.allows("127.0.0.2"), p.allows("127.0.0.1"), p.allows("::ffff:10.20.0.1"), p.allows("8.8.8.8")]).to.deep.equal([true, false, true, true]);
    expect(p.refusesHost("10.20.3.4")).to.equal(false);
    expect(p.refusesHost("localhost")).to.equal(true);
    const all = new WebhookAddressPolicy({ allowPrivateNetworks: true });
    expect([all.allows("127.0.0.1"), all.allows("::1"), all.refusesHost("localhost"), all.refusesHost("[::1]")]).to.deep.equal([true, true, false, false]);
    expect([policy.refusesHost("[::1]"), policy.refusesHost("LOCALHOST."), policy.refusesHost("x.localhost"), policy.refusesHost("merchant.example")])
      .to.deep.equal([true, true, true, false]);
  });

  it("refuses bad options with INVALID_INPUT", () => {
    for (const bad of [
      { allowPrivateNetworks: "yes" }, { allowedNetworks: "10.0.0.0/8" }, { allowedNetworks: ["10.0.0.0/33"] }, { allowedNetworks: ["fd00::/129"] },
      { allowedNetworks: ["example.com"] }, { allowedNetworks: [10] }, { allowedNetworks: ["fe80::1%eth0"] },
      { allowedNetworks: Array(65).fill("10.0.0.1") }, null,
    ]) {
      expect(() => new WebhookAddressPolicy(bad as never), JSON.stringify(bad)).to.throw(AgentPayError).with.property("code", "INVALID_INPUT");
    }
  });
});

describe("events: merchant callbacks through the facade", () => {
  it("AgentPay.open({ delivery: { allowPrivateNetworks } }) passes the flag to the deliverer: a capture reaches a local merchant, signed", async () => {
    const server = await new WebhookServer().listen();
    const w = await world({ delivery: { ...FAST, allowPrivateNetworks: true } });
    try {
      const { merchant, callbackSecret } = await w.pay.merchants.register({ name: "Local Air", category: "4511", callbackUrl: server.url });
      const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: merchant.id, amount: usd("10.00") });
      if (r.status !== "approved") throw new Error("expected approval");
      await w.pay.payments.redeem({ token: r.token, merchantId: merchant.id, amount: usd("10.00"), idempotencyKey: "cap" });
      await waitFor(() => server.received.some((x) => x.headers["agentpay-event-type"] === "payment.captured"), "the capture callback");
      const got = server.received.find((x) => x.headers["agentpay-event-type"] === "payment.captured")!;
      verifyWebhookSignature(callbackSecret, got.headers["agentpay-timestamp"] as string, got.body, got.headers["agentpay-signature"] as string, {
        nowMs: w.clock.nowMs(),
      });
      expect(got.headers).to.include({ "agentpay-initiator": "agent", "agentpay-agent-id": w.agent.id });
    } finally {
      await w.pay.close();
      await server.close();
    }
  });
});
