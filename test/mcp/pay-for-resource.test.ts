// pay_for_resource through the official MCP SDK client, against a merchant's paid API on a real socket
// (the x402 middleware in Hono, settling in-process): 402 → pay within the grant → 200, and every way it
// must not pay.
import { expect } from "chai";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { createMcpServer, httpAgent, inProcessAgent, MAX_BODY_CHARS } from "../../src/mcp/index.ts";
import { AgentPayClient } from "../../src/client/index.ts";
import { serve } from "../../src/http/index.ts";
import { captures, moneyState, startShop, x402World } from "../x402/helpers.ts";
import type { Shop, X402World } from "../x402/helpers.ts";

describe("MCP pay_for_resource (HTTP 402)", function () {
  this.timeout(60_000);
  let w: X402World;
  let shop: Shop;
  let call: (args: Record<string, unknown>) => Promise<{ isError: boolean; json: Record<string, any> }>;
  let client: Client;

  beforeEach(async () => {
    w = await x402World();
    shop = await startShop("hono", w.merchantA, { agentpay: w.pay });
    // The shop listens on loopback, which the tool refuses unless allowed (a test below checks the default).
    const server = createMcpServer(inProcessAgent(w.pay, { agentId: w.agentId, privateKeyJwk: w.agentJwk as unknown as Record<string, unknown> }), { payForResource: { allowPrivateNetworks: true } });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    client = new Client({ name: "test", version: "1" });
    await client.connect(b);
    call = async (args) => {
      const r = await client.callTool({ name: "pay_for_resource", arguments: args }) as { content: Array<{ text: string }>; isError?: boolean };
      let json: Record<string, any>;
      try {
        json = JSON.parse(r.content[0]!.text) as Record<string, any>;
      } catch {
        json = { text: r.content[0]!.text };
      }
      return { isError: r.isError === true, json };
    };
  });
  afterEach(async () => {
    await client.close();
    await shop.close();
    await w.close();
  });

  const base = () => ({ subWalletId: w.subWalletId, currency: "USD" });

  it("is listed with a schema that asks for the most the agent will pay", async () => {
    const t = (await client.listTools()).tools.find((x) => x.name === "pay_for_resource")!;
    expect(t.description).to.match(/402/);
    expect((t.inputSchema as { required?: string[] }).required).to.include.members(["url", "subWalletId", "maxAmount", "currency"]);
  });

  it("pays a 402 within maxAmount and returns the resource and the receipt; the handler ran once, one capture", async () => {
    const r = await call({ ...base(), url: `${shop.url}/weather?city=paris`, maxAmount: "1.00" });
    expect(r.isError, JSON.stringify(r.json)).to.equal(false);
    expect(r.json.status).to.equal(200);
    expect(JSON.parse(r.json.body)).to.include({ route: "weather" });
    expect(r.json.paid).to.include({ merchantId: w.merchantA });
    expect(r.json.paid.amount).to.deep.equal({ value: "0.25", currency: "USD" });
    expect(shop.hits.weather).to.equal(1);
    const caps = captures(w.pay, w.merchantA);
    expect(caps.map((p) => p.id)).to.deep.equal([r.json.paid.paymentId]);
  });

  it("a price above maxAmount is not paid: X402_NO_PAYABLE_OFFER with the offers; nothing moved", async () => {
    const before = moneyState(w);
    const r = await call({ ...base(), url: `${shop.url}/premium`, maxAmount: "1.00" });
    expect(r.isError).to.equal(true);
    expect(r.json.error).to.equal("X402_NO_PAYABLE_OFFER");
    expect(r.json.offers).to.be.an("array").that.is.not.empty;
    expect(r.json.next).to.match(/ask/);
    expect(moneyState(w)).to.deep.equal(before);
    expect(shop.hits.premium).to.equal(0);
  });

  it("above the person's threshold it waits for their approval, then pays", async () => {
    const pending = call({ ...base(), url: `${shop.url}/premium`, maxAmount: "5.00", approvalWaitSeconds: 30 });
    let approvals = w.pay.approvals.listPending({ ownerId: "alice" });
    for (let i = 0; i < 200 && approvals.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      approvals = w.pay.approvals.listPending({ ownerId: "alice" });
    }
    expect(approvals).to.have.length(1);
    await w.pay.approvals.approve(approvals[0]!.id, { by: "person:alice" });
    const r = await pending;
    expect(r.isError, JSON.stringify(r.json)).to.equal(false);
    expect(r.json.status).to.equal(200);
    expect(r.json.paid).to.include({ approvalId: approvals[0]!.id });
    expect(shop.hits.premium).to.equal(1);
  });

  it("the person denies: X402_PAYMENT_DENIED, nothing captured, the handler never ran", async () => {
    const pending = call({ ...base(), url: `${shop.url}/premium`, maxAmount: "5.00", approvalWaitSeconds: 30 });
    let approvals = w.pay.approvals.listPending({ ownerId: "alice" });
    for (let i = 0; i < 200 && approvals.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      approvals = w.pay.approvals.listPending({ ownerId: "alice" });
    }
    await w.pay.approvals.deny(approvals[0]!.id, { by: "person:alice" });
    const r = await pending;
    expect(r.isError).to.equal(true);
    expect(r.json.error).to.equal("X402_PAYMENT_DENIED");
    expect(captures(w.pay, w.merchantA)).to.deep.equal([]);
    expect(shop.hits.premium).to.equal(0);
  });

  it("a response that asks for nothing is returned as it is, unpaid; a big body is cut to what a model reads", async () => {
    const missing = await call({ ...base(), url: `${shop.url}/no-such-route`, maxAmount: "1.00" });
    expect(missing.isError).to.equal(false);
    expect(missing.json).to.include({ status: 404, paid: null });
    const big = await call({ ...base(), url: `${shop.url}/big`, maxAmount: "1.00" });
    expect(big.json.status).to.equal(200);
    expect(big.json.truncated).to.equal(true);
    expect(big.json.body).to.have.length(MAX_BODY_CHARS);
  });

  it("POSTs a body; refuses a body on GET, a non-http URL and a zero maxAmount, paying nothing", async () => {
    const echo = await call({ ...base(), url: `${shop.url}/echo`, method: "POST", body: "{\"q\":1}", maxAmount: "1.00" });
    expect(echo.json.status, JSON.stringify(echo.json)).to.equal(200);
    expect(echo.json.body).to.contain("{\\\"q\\\":1}");
    const before = moneyState(w);
    const getBody = await call({ ...base(), url: `${shop.url}/weather`, body: "x", maxAmount: "1.00" });
    expect(getBody.isError).to.equal(true);
    expect(getBody.json.error).to.equal("INVALID_INPUT");
    const file = await call({ ...base(), url: "file:///etc/passwd", maxAmount: "1.00" });
    expect(file.isError).to.equal(true);
    const zero = await call({ ...base(), url: `${shop.url}/weather`, maxAmount: "0" });
    expect(zero.isError).to.equal(true);
    expect(zero.json.error).to.equal("INVALID_AMOUNT");
    expect(moneyState(w)).to.deep.equal(before);
    expect(shop.hits.weather).to.equal(0);
  });
});

describe("MCP pay_for_resource: what it refuses and how it fails", function () {
  this.timeout(60_000);
  const connect = async (w: X402World, opts: Parameters<typeof createMcpServer>[1] = {}) => {
    const server = createMcpServer(inProcessAgent(w.pay, { agentId: w.agentId, privateKeyJwk: w.agentJwk as unknown as Record<string, unknown> }), opts);
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    const client = new Client({ name: "test", version: "1" });
    await client.connect(b);
    const call = async (args: Record<string, unknown>) => {
      const r = await client.callTool({ name: "pay_for_resource", arguments: args }) as { content: Array<{ text: string }>; isError?: boolean };
      return { isError: r.isError === true, json: JSON.parse(r.content[0]!.text) as Record<string, any> };
    };
    return { client, call };
  };

  it("by default refuses loopback, private and link-local hosts, paying nothing", async () => {
    const w = await x402World();
    const shop = await startShop("hono", w.merchantA, { agentpay: w.pay });
    const { client, call } = await connect(w);
    try {
      const before = moneyState(w);
      for (const url of [`${shop.url}/weather`, "http://localhost:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest/meta-data", "http://[::1]:9/x"]) {
        const r = await call({ url, subWalletId: w.subWalletId, maxAmount: "1.00", currency: "USD" });
        expect(r.isError, url).to.equal(true);
        expect(r.json.error, url).to.equal("INVALID_INPUT");
      }
      expect(moneyState(w)).to.deep.equal(before);
      expect(shop.hits.weather).to.equal(0);
    } finally {
      await client.close();
      await shop.close();
      await w.close();
    }
  });

  it("a failure after the payment says it was paid (with the payment id) and tells the model not to pay again", async () => {
    const w = await x402World();
    const shop = await startShop("hono", w.merchantA, { agentpay: w.pay });
    // The paid retry is lost in transit (the connection drops after the payment was made).
    const lossy: typeof fetch = async (input, init) => {
      const req = new Request(input, init);
      if (req.headers.has("payment-signature")) throw new TypeError("socket hang up");
      return fetch(req);
    };
    const { client, call } = await connect(w, { payForResource: { allowPrivateNetworks: true, fetch: lossy } });
    try {
      const r = await call({ url: `${shop.url}/weather`, subWalletId: w.subWalletId, maxAmount: "1.00", currency: "USD" });
      expect(r.isError).to.equal(true);
      expect(r.json.error).to.equal("CONNECTION_FAILED");
      expect(r.json.paymentId).to.match(/^pay_/);
      expect(r.json.next).to.match(/Do not call pay_for_resource again/);
      expect(w.pay.payments.get(r.json.paymentId).status).to.equal("authorized");
    } finally {
      await client.close();
      await shop.close();
      await w.close();
    }
  });
});

describe("MCP pay_for_resource over HTTP: the agent's MCP server, the agentpay server and the merchant's API apart", function () {
  this.timeout(60_000);

  it("pays through the agentpay server with the agent's key held by the MCP side; the merchant settles through the server", async () => {
    const w = await x402World();
    const server = await serve(w.pay, { port: 0, rateLimit: false });
    const shop = await startShop("hono", w.merchantA, { server: { url: server.url, apiKey: w.keyA } });
    const agent = new AgentPayClient({ baseUrl: server.url, agentId: w.agentId, privateKeyJwk: w.agentJwk as unknown as Record<string, unknown> });
    const mcp = createMcpServer(httpAgent(agent), { payForResource: { allowPrivateNetworks: true } });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await mcp.connect(a);
    const client = new Client({ name: "test", version: "1" });
    await client.connect(b);
    try {
      const r = await client.callTool({ name: "pay_for_resource", arguments: { url: `${shop.url}/news`, subWalletId: w.subWalletId, maxAmount: "0.50", currency: "USD" } }) as { content: Array<{ text: string }>; isError?: boolean };
      const json = JSON.parse(r.content[0]!.text) as Record<string, any>;
      expect(r.isError, JSON.stringify(json)).to.not.equal(true);
      expect(json.status).to.equal(200);
      expect(json.paid.amount).to.deep.equal({ value: "0.25", currency: "USD" });
      expect(w.pay.payments.get(json.paid.paymentId).status).to.equal("captured");
      expect(shop.hits.news).to.equal(1);
    } finally {
      await client.close();
      await shop.close();
      await server.close();
      await w.close();
    }
  });
});
