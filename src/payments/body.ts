import { AgentPayError, defaultCurrencies, formatAmount, newId, parseAmount, validateAmount, validateId, validateKey } from "../core/index.ts";
import type { Amount, CurrencyRegistry } from "../core/index.ts";

/** What an agent signs to ask for a payment (amounts as decimal strings). */
export interface PayRequestBody {
  action: "pay";
  subWalletId: string;
  merchantId: string;
  amount: string;
  currency: string;
  reference?: string;
  idempotencyKey: string;
  /** A specific grant; default the agent's best active grant on the sub-wallet. */
  grantId?: string;
}

export interface VoidRequestBody {
  action: "void";
  paymentId: string;
}

export interface FetchTokenBody {
  action: "fetch_token";
  paymentId: string;
}

export interface ParsedPay {
  subWalletId: string;
  merchantId: string;
  amount: Amount;
  reference?: string;
  idempotencyKey: string;
  grantId?: string;
}

const REF_RE = /^[\x20-\x7e]{1,128}$/;
const PAY_KEYS = new Set(["action", "subWalletId", "merchantId", "amount", "currency", "reference", "idempotencyKey", "grantId"]);

function obj(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new AgentPayError("INVALID_INPUT", "the intent body must be an object");
  }
  return body as Record<string, unknown>;
}

export function parsePayBody(body: unknown, registry: CurrencyRegistry): ParsedPay {
  const b = obj(body);
  if (b.action !== "pay") throw new AgentPayError("INVALID_INPUT", "action must be pay", { field: "action" });
  for (const k of Object.keys(b)) if (!PAY_KEYS.has(k)) throw new AgentPayError("INVALID_INPUT", "unknown field in the intent", { field: k });
  const amount = parseAmount(b.amount, b.currency, registry);
  if (amount.minor === 0n) throw new AgentPayError("INVALID_AMOUNT", "amount must be greater than zero", { field: "amount" });
  if (b.reference !== undefined && (typeof b.reference !== "string" || !REF_RE.test(b.reference))) {
    throw new AgentPayError("INVALID_INPUT", "reference must be 1-128 printable ASCII characters", { field: "reference" });
  }
  return {
    subWalletId: validateId(b.subWalletId, "sw", "subWalletId"),
    merchantId: validateId(b.merchantId, "mer", "merchantId"),
    amount,
    idempotencyKey: validateKey(b.idempotencyKey, "idempotencyKey"),
    ...(b.reference !== undefined ? { reference: b.reference as string } : {}),
    ...(b.grantId !== undefined ? { grantId: validateId(b.grantId, "gnt", "grantId") } : {}),
  };
}

export function parsePaymentRef(body: unknown, action: "void" | "fetch_token"): string {
  const b = obj(body);
  if (b.action !== action) throw new AgentPayError("INVALID_INPUT", `action must be ${action}`, { field: "action" });
  for (const k of Object.keys(b)) if (k !== "action" && k !== "paymentId") throw new AgentPayError("INVALID_INPUT", "unknown field in the intent", { field: k });
  return validateId(b.paymentId, "pay", "paymentId");
}

export interface BuildPayIntentInput {
  subWalletId: string;
  merchantId: string;
  amount: Amount;
  reference?: string;
  /** Default: a new random key (a retry of the same payment must pass the same one). */
  idempotencyKey?: string;
  /** A specific grant; default the agent's best active grant on the sub-wallet. */
  grantId?: string;
}

/**
 * The body an agent signs to ask for a payment (with `signIntent`), checked the way the issuer will
 * check it. Needs no open AgentPay: an agent in another process (or behind the HTTP API) builds and
 * signs its intents itself, and its key never leaves it. `registry` knows extra assets' decimals.
 */
export function buildPayIntent(input: BuildPayIntentInput, registry: CurrencyRegistry = defaultCurrencies): PayRequestBody {
  if (input === null || typeof input !== "object") throw new AgentPayError("INVALID_INPUT", "payment input must be an object");
  validateAmount(input.amount, { positive: true, registry });
  const body: PayRequestBody = {
    action: "pay", subWalletId: input.subWalletId, merchantId: input.merchantId,
    amount: formatAmount(input.amount, registry), currency: input.amount.currency,
    idempotencyKey: input.idempotencyKey ?? newId("idem"),
    ...(input.reference !== undefined ? { reference: input.reference } : {}),
    ...(input.grantId !== undefined ? { grantId: input.grantId } : {}),
  };
  parsePayBody(body, registry);
  return body;
}

/** The body an agent signs to void its own unredeemed payment. */
export function buildVoidIntent(paymentId: string): VoidRequestBody {
  return { action: "void", paymentId: validateId(paymentId, "pay", "paymentId") };
}

/** The body an agent signs to fetch its token once a payment is authorized (e.g. after an approval). */
export function buildFetchTokenIntent(paymentId: string): FetchTokenBody {
  return { action: "fetch_token", paymentId: validateId(paymentId, "pay", "paymentId") };
}
