// The agent's side backed by an AgentPay in this process (embedding, tests): intents are signed with the
// agent's key exactly as over HTTP; reads are the host's own.
import { randomUUID } from "node:crypto";
import { AgentPayError, buildPayIntent, formatAmount, parseAmount, signIntent } from "../index.ts";
import type { AgentPay, Payment } from "../index.ts";
import type { McpAgentSide } from "./agent.ts";

export function inProcessAgent(pay: AgentPay, opts: { agentId: string; privateKeyJwk: Record<string, unknown> }): McpAgentSide {
  const client = pay.agentClient({ agentId: opts.agentId, privateKeyJwk: opts.privateKeyJwk });
  const mine = (id: string): Payment => {
    const p = pay.payments.get(id);
    if (p.agentId !== opts.agentId) throw new AgentPayError("PAYMENT_NOT_FOUND", "no such payment for this agent", { paymentId: id });
    return p;
  };
  const withToken = (p: Payment) => {
    const t = pay.payments.issuedToken(p.id);
    return t ? { ...p, token: t.token } : p;
  };
  const sign = (body: unknown) => signIntent(opts.privateKeyJwk, { agentId: opts.agentId, body, nowMs: pay.clock.nowMs() });
  return {
    agentId: opts.agentId,
    requestPayment: async (input) => pay.payments.authorize(await sign(buildPayIntent(input, pay.currencies))),
    waitForApproval: async (id, o) => withToken(await pay.payments.wait(mine(id).id, { timeoutMs: Math.min(o.timeoutMs, 60_000) })),
    getPayment: async (id) => withToken(mine(id)),
    listPayments: async (q) => pay.payments.list({ agentId: opts.agentId, ...(q.subWalletId ? { subWalletId: q.subWalletId } : {}), limit: q.limit ?? 10 }),
    voidPayment: (id) => client.voidPayment(id),
    requestRefund: async (input) => pay.payments.requestRefund(await sign({
      action: "refund_request", paymentId: input.paymentId, amount: formatAmount(input.amount, pay.currencies),
      currency: input.amount.currency, idempotencyKey: input.idempotencyKey ?? `rq-${randomUUID()}`,
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
    })),
    getBudget: async (id) => pay.wallets.budget(id),
    getSubWallet: async (id) => pay.wallets.getSubWallet(id),
    listGrants: async () => pay.grants.list({ agentId: opts.agentId, activeOnly: true }),
    amount: (value, currency) => parseAmount(value, currency, pay.currencies),
    toWire: (v) => pay.toWire(v),
    payer: client,
  };
}
