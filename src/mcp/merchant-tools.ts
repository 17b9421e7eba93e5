// `agentpay mcp --as merchant`: a merchant's tools for merchant-side bots: check a token, redeem it,
// refund, list payments and refund requests.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { parseAmount, toWire } from "../index.ts";
import type { CurrencyRegistry } from "../index.ts";
import type { MerchantClient } from "../client/index.ts";
import { errorResult } from "./tools.ts";
import type { ToolResult } from "./tools.ts";

export function createMerchantMcpServer(merchant: MerchantClient, currencies: CurrencyRegistry, opts: { tools?: readonly string[] } = {}): McpServer {
  const server = new McpServer({ name: "agentpay-merchant", version: "0.2.0" }, {
    instructions: "Accept agentpay payments as this merchant: verify the token an agent hands over, redeem it (at most its cap, exactly once), refund when asked.",
  });
  const wire = (v: unknown) => toWire(v, currencies);
  const money = { amount: z.string().regex(/^\d{1,30}(\.\d{1,18})?$/).describe("Decimal string, e.g. \"12.50\""), currency: z.string().min(3).max(64) };
  const tools: Array<{ name: string; description: string; input: z.ZodRawShape; run: (a: Record<string, unknown>) => Promise<unknown> }> = [
    {
      name: "verify_token", description: "Check a payment token offline (signature, this merchant as audience, expiry): returns its cap, currency, agent and payment id. Does not redeem it.",
      input: { token: z.string().max(8192) }, run: async (a) => wire(await merchant.verify(String(a.token))),
    },
    {
      name: "redeem", description: "Capture up to the token's cap, exactly once (the rest of the hold is released). Use the same idempotencyKey to retry safely.",
      input: { token: z.string().max(8192), ...money, idempotencyKey: z.string().max(255).optional() },
      run: async (a) => wire(await merchant.redeem({ token: String(a.token), amount: parseAmount(a.amount, a.currency, currencies), ...(a.idempotencyKey ? { idempotencyKey: String(a.idempotencyKey) } : {}) })),
    },
    {
      name: "refund", description: "Refund (part of) a captured payment; never more than was captured.",
      input: { paymentId: z.string().regex(/^pay_[0-9a-z]{8,64}$/), ...money, reason: z.string().max(500).optional(), idempotencyKey: z.string().max(255).optional() },
      run: async (a) => wire(await merchant.refund({
        paymentId: String(a.paymentId), amount: parseAmount(a.amount, a.currency, currencies), ...(a.reason ? { reason: String(a.reason) } : {}),
        ...(a.idempotencyKey ? { idempotencyKey: String(a.idempotencyKey) } : {}),
      })),
    },
    {
      name: "list_payments", description: "This merchant's recent payments, newest first.", input: { limit: z.number().int().min(1).max(50).optional() },
      run: async (a) => ({ payments: (wire((await merchant.listPayments({ limit: Number(a.limit ?? 10) })).data) as unknown[]) }),
    },
    {
      name: "list_refund_requests", description: "Refund requests agents sent to this merchant (default: pending ones).",
      input: { status: z.enum(["pending", "granted", "declined"]).optional() },
      run: async (a) => ({ refundRequests: wire((await merchant.refundRequests({ status: (a.status ?? "pending") as "pending" })).data) }),
    },
  ];
  for (const t of tools) {
    if (opts.tools && !opts.tools.includes(t.name)) continue;
    server.registerTool(t.name, { description: t.description, inputSchema: t.input }, async (args: Record<string, unknown>): Promise<ToolResult> => {
      try {
        return { content: [{ type: "text", text: JSON.stringify(await t.run(args)) }] };
      } catch (e) {
        return errorResult(e);
      }
    });
  }
  return server;
}
