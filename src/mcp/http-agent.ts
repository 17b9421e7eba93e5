// The agent's side over HTTP: an AgentPayClient holding the agent's key, talking to an agentpay server.
import { CurrencyRegistry, parseAmount, toWire } from "../index.ts";
import type { AgentPayClient } from "../client/index.ts";
import type { McpAgentSide } from "./agent.ts";

export function httpAgent(client: AgentPayClient, currencies: CurrencyRegistry = new CurrencyRegistry()): McpAgentSide {
  return {
    agentId: client.agentId,
    requestPayment: (input) => client.requestPayment(input),
    waitForApproval: async (id, o) => {
      await client.waitForApproval(id, o);
      return client.getPayment(id);
    },
    getPayment: (id) => client.getPayment(id),
    listPayments: async (q) => (await client.listPayments({ ...(q.subWalletId ? { subWalletId: q.subWalletId } : {}), limit: q.limit ?? 10 })).data,
    voidPayment: (id) => client.voidPayment(id),
    requestRefund: (input) => client.requestRefund(input),
    getBudget: (id) => client.getBudget(id),
    getSubWallet: (id) => client.getSubWallet(id),
    listGrants: async () => (await client.listGrants({ limit: 100 })).data,
    amount: (value, currency) => parseAmount(value, currency, currencies),
    toWire: (v) => toWire(v, currencies),
    payer: client,
  };
}
