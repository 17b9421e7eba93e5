// What the MCP tools need from the agent's side. The HTTP AgentPayClient (agentpay/client) provides it
// over the network, with the agent's key held in this process; an in-process AgentPay can too (tests).
import type { Amount, AuthorizeResult, BudgetStatus, Grant, Payment, RefundRequest, SubWallet } from "../index.ts";
import type { X402Payer } from "../x402/index.ts";

export interface McpAgentSide {
  readonly agentId: string;
  requestPayment(input: { subWalletId: string; merchantId: string; amount: Amount; reference?: string; idempotencyKey?: string }): Promise<AuthorizeResult>;
  /** Resolves once the person decided (or the wait ran out): the payment as it is then. */
  waitForApproval(paymentId: string, opts: { timeoutMs: number }): Promise<Payment & { token?: string }>;
  getPayment(paymentId: string): Promise<Payment & { token?: string }>;
  listPayments(q: { subWalletId?: string; limit?: number }): Promise<Payment[]>;
  voidPayment(paymentId: string): Promise<Payment>;
  requestRefund(input: { paymentId: string; amount: Amount; reason?: string; idempotencyKey?: string }): Promise<RefundRequest>;
  getBudget(subWalletId: string): Promise<BudgetStatus>;
  getSubWallet(subWalletId: string): Promise<SubWallet>;
  listGrants(): Promise<Grant[]>;
  /** Turns a decimal string into an amount of `currency` (the currency's decimals are checked). */
  amount(value: string, currency: string): Amount;
  /** The JSON-safe form of a result (amounts as decimal strings with their currency). */
  toWire(value: unknown): unknown;
  /** What pays an HTTP 402 (pay_for_resource): the same agent, its key in this process. */
  readonly payer: X402Payer;
}
