// The agent's payment tools, as a model sees them: a description that says when to use each and what
// comes back, an input schema, and small JSON results (amounts as decimal strings with their currency).
// A refusal is a tool result with isError and a sentence the model can act on, never a protocol error.
import { z } from "zod";
import { isAgentPayError } from "../index.ts";
import type { McpAgentSide } from "./agent.ts";

export interface ToolResult {
  [k: string]: unknown;
  content: Array<{ type: "text"; text: string }>;
  isError?: boolean;
}

export interface ToolDef {
  name: string;
  title: string;
  description: string;
  input: z.ZodRawShape;
  run(agent: McpAgentSide, args: Record<string, unknown>): Promise<unknown>;
}

const money = { amount: z.string().regex(/^\d{1,30}(\.\d{1,18})?$/).describe("Decimal string, e.g. \"12.50\" (never a number)"), currency: z.string().min(3).max(64).describe("ISO 4217 code, e.g. \"USD\"") };
const paymentId = z.string().regex(/^pay_[0-9a-z]{8,64}$/).describe("The payment id (pay_…) request_payment returned");

/** What a model should do next, by error code. */
const NEXT: Record<string, string> = {
  PAYMENT_DECLINED: "Do not retry the same payment: tell the user why (the reasons) or pick a cheaper option within the limits get_budget shows.",
  GRANT_REVOKED: "The user revoked your permission to pay from this sub-wallet: stop and tell the user.",
  GRANT_EXPIRED: "Your permission to pay expired: ask the user to grant it again.",
  GRANT_NOT_FOUND: "You hold no permission to pay from this sub-wallet: ask the user for one.",
  GRANT_SCOPE_MISSING: "Your permission does not cover this action: ask the user to extend it.",
  SUBWALLET_FROZEN: "The user froze this sub-wallet: stop paying and tell the user.",
  AGENT_DISABLED: "You were disabled by the user or the operator: stop.",
  APPROVAL_EXPIRED: "The user did not answer in time: ask again only if the user still wants it.",
  INSUFFICIENT_FUNDS: "The sub-wallet does not hold enough: tell the user.",
  MERCHANT_NOT_FOUND: "Check the merchant id.",
  INVALID_AMOUNT: "Give the amount as a decimal string with at most the currency's decimals.",
  INTENT_EXPIRED: "Your clock is off by more than 5 minutes: fix it, then retry.",
  X402_NO_PAYABLE_OFFER: "The price is above your maxAmount (or not in a currency you pay): tell the user the price (details.offers) and ask before raising maxAmount.",
  X402_APPROVAL_TIMEOUT: "The user has not answered yet: tell the user. Call pay_for_resource again only once the user says so (an approval given later to this payment goes unused and its hold lapses with the token).",
  X402_PAYMENT_DENIED: "The user said no: do not retry; tell the user.",
  X402_PAYMENT_REFUSED: "The merchant refused the payment: do not retry blindly; tell the user.",
  CONNECTION_FAILED: "The server could not be reached: check the URL, retry later.",
};

export function errorResult(e: unknown): ToolResult {
  if (isAgentPayError(e)) {
    const reasons = (e.details as { reasons?: Array<{ code: string; message: string }> }).reasons;
    const offers = (e.details as { offers?: unknown }).offers;
    const paymentId = (e.details as { paymentId?: unknown }).paymentId;
    // The error's own advice (set where the case is known best), else the code's.
    const ownNext = (e.details as { next?: unknown }).next;
    const text = JSON.stringify({
      error: e.code, message: e.message, ...(reasons ? { reasons } : {}), ...(offers ? { offers } : {}), ...(typeof paymentId === "string" ? { paymentId } : {}),
      next: typeof ownNext === "string" ? ownNext : NEXT[e.code] ?? "Do not retry blindly: tell the user what happened.",
    });
    return { content: [{ type: "text", text }], isError: true };
  }
  return { content: [{ type: "text", text: JSON.stringify({ error: "INTERNAL_ERROR", message: "the payment service failed; try again later" }) }], isError: true };
}

function payment(agent: McpAgentSide, p: Record<string, unknown>): Record<string, unknown> {
  const w = agent.toWire(p) as Record<string, unknown>;
  const keep = ["id", "status", "subWalletId", "merchantId", "amount", "reference", "createdAt", "expiresAt", "captured", "refunded", "approvalId", "token"];
  return Object.fromEntries(keep.filter((k) => w[k] !== undefined).map((k) => [k, w[k]]));
}

export const AGENT_TOOLS: ToolDef[] = [
  {
    name: "get_budget", title: "Check the budget",
    description: "What you may still spend from a sub-wallet the user gave you: the remaining amount per period (today, this week, this month, last 24 h), the per-payment limit, the amount above which the user must approve, and the allowed or blocked merchant categories. Call it before paying. Without subWalletId it lists the sub-wallets you may pay from.",
    input: { subWalletId: z.string().regex(/^sw_[0-9a-z]{8,64}$/).optional().describe("The sub-wallet (sw_…); omit to list yours") },
    async run(agent, args) {
      if (args.subWalletId === undefined) {
        const grants = await agent.listGrants();
        return { subWallets: grants.filter((g) => g.status === "active").map((g) => ({ subWalletId: g.subWalletId, scopes: g.scopes, ...(g.expiresAtMs ? { grantExpiresAt: new Date(g.expiresAtMs).toISOString() } : {}) })) };
      }
      const id = String(args.subWalletId);
      const [b, sw] = await Promise.all([agent.getBudget(id), agent.getSubWallet(id)]);
      const wire = agent.toWire(b) as Record<string, Record<string, unknown>>;
      const pol = agent.toWire(sw.policy) as Record<string, unknown>;
      const window = (k: string) => wire[k] && ({ used: wire[k]!.used, ...(wire[k]!.limit ? { limit: wire[k]!.limit, remaining: wire[k]!.remaining } : {}) });
      return {
        subWalletId: id, status: sw.status, currency: sw.currency, today: window("daily"), thisWeek: window("weekly"), thisMonth: window("monthly"), last24h: window("rolling24h"),
        ...(pol.perPayment ? { perPaymentLimit: pol.perPayment } : {}), ...(pol.approvalAbove ? { userApprovesAbove: pol.approvalAbove } : {}),
        ...(pol.categories ? { categories: pol.categories } : {}), ...(pol.merchants ? { merchants: pol.merchants } : {}),
        paymentsToday: wire.paymentsToday,
      };
    },
  },
  {
    name: "request_payment", title: "Pay a merchant",
    description: "Ask to pay a merchant from a sub-wallet. Returns status \"approved\" with a single-use token (hand it to the merchant; it expires in minutes and caps the amount), or \"pending_approval\" (the user must approve: call wait_for_approval with the paymentId), or an error with the reasons it was declined. Retrying with the same idempotencyKey never pays twice.",
    input: {
      subWalletId: z.string().regex(/^sw_[0-9a-z]{8,64}$/).describe("The sub-wallet to pay from (sw_…)"),
      merchantId: z.string().regex(/^mer_[0-9a-z]{8,64}$/).describe("The merchant (mer_…)"),
      ...money,
      reference: z.string().max(128).optional().describe("Your order or invoice reference"),
      description: z.string().max(200).optional().describe("What is bought, in a few words (kept as the reference when no reference is given)"),
      idempotencyKey: z.string().max(255).optional().describe("Reuse it to retry the same payment safely"),
    },
    async run(agent, args) {
      const ref = (args.reference ?? args.description) as string | undefined;
      const r = await agent.requestPayment({
        subWalletId: String(args.subWalletId), merchantId: String(args.merchantId), amount: agent.amount(String(args.amount), String(args.currency)),
        ...(ref !== undefined ? { reference: ref.replace(/[^\x20-\x7e]/g, "?").slice(0, 128) } : {}),
        ...(args.idempotencyKey !== undefined ? { idempotencyKey: String(args.idempotencyKey) } : {}),
      });
      const w = agent.toWire(r) as Record<string, unknown>;
      if (r.status === "approved") return { status: "approved", paymentId: r.paymentId, token: r.token, expiresAt: w.expiresAt };
      if (r.status === "pending_approval") return { status: "pending_approval", paymentId: r.paymentId, approvalId: r.approvalId, next: "Call wait_for_approval with this paymentId." };
      return { status: r.status, paymentId: r.paymentId };
    },
  },
  {
    name: "wait_for_approval", title: "Wait for the user's approval",
    description: "Wait (up to timeoutSeconds, at most 300) for the user to approve or deny a pending payment. Returns \"approved\" with the token, \"denied\", or \"still_pending\" (call again later).",
    input: { paymentId, timeoutSeconds: z.number().int().min(1).max(300).optional().describe("Default 60") },
    async run(agent, args) {
      const p = await agent.waitForApproval(String(args.paymentId), { timeoutMs: Number(args.timeoutSeconds ?? 60) * 1000 });
      if (p.status === "authorized") return { status: "approved", paymentId: p.id, token: p.token, expiresAt: (agent.toWire(p) as { expiresAt?: string }).expiresAt };
      if (p.status === "pending_approval") return { status: "still_pending", paymentId: p.id };
      return { status: p.status, paymentId: p.id };
    },
  },
  {
    name: "get_payment", title: "Look up a payment",
    description: "The status of one of your payments (pending_approval, authorized, captured, voided, expired, declined, denied), its amount and what was captured or refunded; while authorized, also its token.",
    input: { paymentId },
    run: async (agent, args) => payment(agent, await agent.getPayment(String(args.paymentId)) as unknown as Record<string, unknown>),
  },
  {
    name: "list_payments", title: "List your payments",
    description: "Your recent payments, newest first (optionally from one sub-wallet).",
    input: { subWalletId: z.string().regex(/^sw_[0-9a-z]{8,64}$/).optional(), limit: z.number().int().min(1).max(50).optional().describe("Default 10") },
    async run(agent, args) {
      const list = await agent.listPayments({ ...(args.subWalletId ? { subWalletId: String(args.subWalletId) } : {}), limit: Number(args.limit ?? 10) });
      return { payments: list.map((p) => payment(agent, p as unknown as Record<string, unknown>)) };
    },
  },
  {
    name: "void_payment", title: "Cancel an unused payment",
    description: "Release a payment you no longer need before the merchant redeemed its token (the money goes back to the budget).",
    input: { paymentId },
    run: async (agent, args) => payment(agent, await agent.voidPayment(String(args.paymentId)) as unknown as Record<string, unknown>),
  },
  {
    name: "request_refund", title: "Ask the merchant for a refund",
    description: "Ask the merchant to refund (part of) a captured payment, e.g. a cancelled order. The merchant decides; this returns the pending request.",
    input: { paymentId, ...money, reason: z.string().min(1).max(500).optional(), idempotencyKey: z.string().max(255).optional() },
    async run(agent, args) {
      const r = await agent.requestRefund({
        paymentId: String(args.paymentId), amount: agent.amount(String(args.amount), String(args.currency)),
        ...(args.reason !== undefined ? { reason: String(args.reason) } : {}), ...(args.idempotencyKey !== undefined ? { idempotencyKey: String(args.idempotencyKey) } : {}),
      });
      const w = agent.toWire(r) as Record<string, unknown>;
      return { refundRequestId: w.id, status: w.status, amount: w.amount, paymentId: w.paymentId };
    },
  },
];
