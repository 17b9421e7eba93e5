// The MCP tools through the official SDK's Client (in memory here; stdio and Streamable HTTP against a
// real server in mcp.process.test.ts): a scripted conversation a tool-using agent would have.
import { Ajv2020 } from "ajv/dist/2020.js";
import { Ajv } from "ajv";
import { expect } from "chai";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { AgentPay, amount } from "../../src/index.ts";
import { createMcpServer, inProcessAgent } from "../../src/mcp/index.ts";

async function setup(tools?: string[]) {
  const pay = await AgentPay.open({ memory: true, risk: "off", delivery: false });
  const wallet = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "UTC" });
  await pay.wallets.deposit(wallet.id, amount("500.00", "USD"), { idempotencyKey: "d" });
  const sw = await pay.wallets.createSubWallet(wallet.id, {
    name: "shopping", budget: amount("400.00", "USD"), policy: { daily: "100.00", approvalAbove: "50.00", categories: { allow: ["5411"] } },
  });
  const { agent, privateKeyJwk } = await pay.agents.register({ name: "llm" });
  const grant = await pay.grants.create({ subWalletId: sw.id, agentId: agent.id, scopes: ["pay", "refund:request"], mode: "persistent" });
  const { merchant } = await pay.merchants.register({ name: "Grocer", category: "5411" });
  const server = createMcpServer(inProcessAgent(pay, { agentId: agent.id, privateKeyJwk: privateKeyJwk! }), tools ? { tools } : {});
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: "test", version: "1" });
  await client.connect(b);
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = await client.callTool({ name, arguments: args }) as { content: Array<{ text: string }>; isError?: boolean };
    return { isError: r.isError === true, json: JSON.parse(r.content[0]!.text) as Record<string, any> };
  };
  return { pay, sw, merchant, grant, client, call };
}

describe("MCP tools (official SDK client)", () => {
  it("lists every tool with a description and a valid JSON Schema; --tools limits them", async () => {
    const { client, pay } = await setup();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).to.deep.equal(["get_budget", "get_payment", "list_payments", "pay_for_resource", "request_payment", "request_refund", "void_payment", "wait_for_approval"]);
    for (const t of tools) {
      expect(t.description!.length, t.name).to.be.greaterThan(40);
      const draft = String((t.inputSchema as { $schema?: string }).$schema ?? "");
      const ajv = draft.includes("2020-12") ? new Ajv2020({ strict: false }) : new Ajv({ strict: false });
      expect(() => ajv.compile(t.inputSchema), t.name).to.not.throw();
    }
    await pay.close();
    const limited = await setup(["get_budget", "request_payment"]);
    expect((await limited.client.listTools()).tools.map((t) => t.name).sort()).to.deep.equal(["get_budget", "request_payment"]);
    await limited.pay.close();
  });

  it("a conversation: check budget → pay → above the threshold, wait → the person approves → the daily limit stops it", async () => {
    const { pay, sw, merchant, call } = await setup();
    const budget = await call("get_budget", { subWalletId: sw.id });
    expect(budget.isError).to.equal(false);
    expect(budget.json.today.remaining).to.deep.equal({ value: "100.00", currency: "USD" });
    expect(budget.json.userApprovesAbove).to.deep.equal({ value: "50.00", currency: "USD" });
    const mine = await call("get_budget");
    expect(mine.json.subWallets.map((s: { subWalletId: string }) => s.subWalletId)).to.deep.equal([sw.id]);

    const small = await call("request_payment", { subWalletId: sw.id, merchantId: merchant.id, amount: "20.00", currency: "USD", description: "milk" });
    expect(small.json).to.include({ status: "approved" });
    expect(small.json.token).to.be.a("string");

    const big = await call("request_payment", { subWalletId: sw.id, merchantId: merchant.id, amount: "60.00", currency: "USD" });
    expect(big.json.status).to.equal("pending_approval");
    const waiting = call("wait_for_approval", { paymentId: big.json.paymentId, timeoutSeconds: 30 });
    await new Promise((r) => setTimeout(r, 50));
    await pay.approvals.approve(big.json.approvalId);
    const approved = await waiting;
    expect(approved.json).to.include({ status: "approved", paymentId: big.json.paymentId });
    expect(approved.json.token).to.be.a("string");

    const over = await call("request_payment", { subWalletId: sw.id, merchantId: merchant.id, amount: "30.00", currency: "USD" });
    expect(over.isError).to.equal(true);
    expect(over.json.error).to.equal("PAYMENT_DECLINED");
    expect(over.json.reasons.map((r: { code: string }) => r.code)).to.include("POLICY_DAILY_BUDGET_EXCEEDED");
    expect(over.json.next).to.be.a("string");

    const listed = await call("list_payments", {});
    expect(listed.json.payments.length).to.equal(3);
    const voided = await call("void_payment", { paymentId: small.json.paymentId });
    expect(voided.json.status).to.equal("voided");
    await pay.close();
  });

  it("refusals are tool errors a model can act on: a revoked grant, a denied approval, bad input", async () => {
    const { pay, sw, merchant, grant, call } = await setup();
    const big = await call("request_payment", { subWalletId: sw.id, merchantId: merchant.id, amount: "60.00", currency: "USD" });
    const waiting = call("wait_for_approval", { paymentId: big.json.paymentId, timeoutSeconds: 30 });
    await new Promise((r) => setTimeout(r, 50));
    await pay.approvals.deny(big.json.approvalId);
    expect((await waiting).json.status).to.equal("denied");
    await pay.grants.revoke(grant.id);
    const r = await call("request_payment", { subWalletId: sw.id, merchantId: merchant.id, amount: "5.00", currency: "USD" });
    expect(r.isError).to.equal(true);
    expect(r.json.error).to.equal("GRANT_REVOKED");
    const bad = await call("request_payment", { subWalletId: sw.id, merchantId: merchant.id, amount: "5.001", currency: "USD" });
    expect(bad.isError).to.equal(true);
    await pay.close();
  });
});
