// The agent's side: fetchWithPayment(fetch, agentClient, { subWalletId, maxAmount }) wraps fetch so a 402
// in agentpay's schemes is paid within the agent's grant (the sub-wallet's policy, the risk engine and
// the person's approval all apply; an approval is waited for, bounded) and the request retried with
// the payment. It resolves to the response and the receipt; it never pays more than maxAmount.
import { AgentPayError, isId, newId } from "../core/index.ts";
import type { Amount } from "../core/index.ts";
import type { AuthorizeResult, RequestPaymentInput, SignedVoucher } from "../index.ts";
import { decodePaymentRequired, decodePaymentResponse, encodePaymentSignature } from "./codec.ts";
import { PAYMENT_REQUIRED_HEADER, PAYMENT_RESPONSE_HEADER, PAYMENT_SIGNATURE_HEADER, TOKEN_SCHEME, VOUCHER_SCHEME, X402_VERSION } from "./types.ts";
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from "./types.ts";
import { voucherPayload } from "./voucher-wire.ts";

/**
 * What fetchWithPayment needs of an agent client: the in-process `pay.agentClient(…)` and the HTTP
 * `AgentPayClient` both are one. The agent's key never leaves it.
 */
export interface X402Payer {
  requestPayment(input: RequestPaymentInput): Promise<AuthorizeResult>;
  waitForApproval(paymentId: string, opts: { timeoutMs: number }): Promise<AuthorizeResult>;
  /** Releases a payment the merchant refused (optional: without it the hold is released when the token expires). */
  voidPayment?(paymentId: string): Promise<unknown>;
}

export interface FetchWithPaymentOptions {
  /** The sub-wallet that pays (the agent must hold a grant with the `pay` scope on it). */
  subWalletId: string;
  /** The most one request may cost, and the currency the agent pays in. Offers above it are not paid. */
  maxAmount: Amount;
  /** A specific grant (default: the agent's best active grant on the sub-wallet). */
  grantId?: string;
  /** How long to wait for the person when a payment needs approval. Default 60 s, at most 24 h. */
  approvalTimeoutMs?: number;
  /** Picks one of the payable offers (default: the cheapest, the ledger token before a voucher). */
  select?: (offers: readonly PaymentRequirements[]) => PaymentRequirements | undefined;
  /** Told of each step (for logs). Must not throw. */
  onEvent?: (event: PayEvent) => void;
}

export type PayEvent =
  | { kind: "payment_required"; url: string; offers: readonly PaymentRequirements[] }
  | { kind: "paying"; url: string; offer: PaymentRequirements; amount: Amount }
  | { kind: "pending_approval"; url: string; paymentId: string; approvalId: string }
  | { kind: "approved"; url: string; paymentId: string }
  | { kind: "paid"; url: string; receipt: X402Receipt; status: number };

/** What a paid request bought. */
export interface X402Receipt {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly amount: Amount;
  /** The payment reference: binds the payment to this request. */
  readonly reference?: string;
  readonly offer: PaymentRequirements;
  /** The merchant's PAYMENT-RESPONSE (x402 SettleResponse); `success: false` with `resource_failed` when it refunded a failed response. */
  readonly settle?: SettleResponse;
  /** Set when the person had to approve. */
  readonly approvalId?: string;
}

export interface PaidResponse {
  readonly response: Response;
  /** Set when the request was paid for. */
  readonly receipt?: X402Receipt;
}

export type PaidFetch = (input: string | URL | Request, init?: RequestInit) => Promise<PaidResponse>;

const REFERENCE_RE = /^[\x20-\x7e]{1,128}$/;
const AMOUNT_RE = /^[1-9]\d{0,39}$/;

export interface Payable { offer: PaymentRequirements; merchantId: string; amount: Amount; reference?: string }

/** The offer as agentpay can pay it at or under `max`, or undefined. */
export function payable(o: PaymentRequirements, max: Amount): Payable | undefined {
  const extra = o.extra ?? {};
  if (!AMOUNT_RE.test(o.amount)) return undefined;
  const reference = extra.reference;
  if (reference !== undefined && (typeof reference !== "string" || !REFERENCE_RE.test(reference))) return undefined;
  let merchantId: unknown;
  let currency: unknown;
  if (o.scheme === TOKEN_SCHEME && o.network.startsWith("agentpay:")) {
    merchantId = o.payTo;
    currency = o.asset;
  } else if (o.scheme === VOUCHER_SCHEME && o.network.startsWith("eip155:")) {
    merchantId = extra.merchantId;
    currency = extra.currency;
  } else {
    return undefined;
  }
  if (!isId(merchantId, "mer") || currency !== max.currency) return undefined;
  const minor = BigInt(o.amount);
  if (minor > max.minor) return undefined;
  return { offer: o, merchantId, amount: { minor, currency }, ...(typeof reference === "string" ? { reference } : {}) };
}

/**
 * Asks agentpay for the payment of an offer (within the grant) and waits for the person if needed:
 * the approved result (with the token), or X402_APPROVAL_TIMEOUT / X402_PAYMENT_DENIED / PAYMENT_DECLINED.
 */
export async function obtainPayment(
  payer: X402Payer, chosen: Payable, options: { subWalletId: string; grantId?: string; approvalTimeoutMs: number },
  on: { pending?: (paymentId: string, approvalId: string) => void; approved?: (paymentId: string) => void } = {},
): Promise<{ result: Extract<AuthorizeResult, { status: "approved" }>; approvalId?: string }> {
  let result = await payer.requestPayment({
    subWalletId: options.subWalletId, merchantId: chosen.merchantId, amount: chosen.amount, idempotencyKey: newId("idem"),
    ...(chosen.reference !== undefined ? { reference: chosen.reference } : {}),
    ...(options.grantId !== undefined ? { grantId: options.grantId } : {}),
  });
  let approvalId: string | undefined;
  if (result.status === "pending_approval") {
    approvalId = result.approvalId;
    on.pending?.(result.paymentId, approvalId);
    result = await payer.waitForApproval(result.paymentId, { timeoutMs: options.approvalTimeoutMs });
    if (result.status === "pending_approval") {
      throw new AgentPayError("X402_APPROVAL_TIMEOUT", "the payment still waits for the person's approval", { paymentId: result.paymentId, approvalId });
    }
    if (result.status === "approved") on.approved?.(result.paymentId);
  }
  if (result.status !== "approved") {
    throw new AgentPayError("X402_PAYMENT_DENIED", `the payment was not approved (${result.status})`, { paymentId: result.paymentId, status: result.status });
  }
  return { result, ...(approvalId ? { approvalId } : {}) };
}

/** A body fetch can send again as it is. */
function replayable(body: RequestInit["body"]): boolean {
  return body === undefined || body === null || typeof body === "string" || body instanceof Uint8Array || body instanceof ArrayBuffer || body instanceof URLSearchParams;
}

/** A 402's body, dropped: a small one is read to its end (the connection can be used again), for at most
 * DISCARD_WAIT_MS (a server that promises a body and never sends it must not hold the agent); a large,
 * unsized or late one is cancelled. */
const MAX_DISCARDED_BYTES = 64 * 1024;
const DISCARD_WAIT_MS = 1_000;
async function discard(res: Response): Promise<void> {
  const body = res.body;
  if (!body) return;
  const length = Number(res.headers.get("content-length") ?? NaN);
  try {
    if (!(length <= MAX_DISCARDED_BYTES)) {
      await body.cancel();
      return;
    }
    const reader = body.getReader();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((r) => { timer = setTimeout(() => r("late"), DISCARD_WAIT_MS); });
    try {
      for (let read = 0; read <= MAX_DISCARDED_BYTES;) {
        const chunk = await Promise.race([reader.read(), late]);
        if (chunk === "late") {
          await reader.cancel();
          return;
        }
        if (chunk.done) return;
        read += chunk.value.byteLength;
      }
      await reader.cancel(); // more than it said
    } finally {
      clearTimeout(timer);
    }
  } catch { /* a body that fails to arrive changes nothing here */ }
}

function summary(offers: readonly PaymentRequirements[]) {
  return offers.slice(0, 8).map((o) => ({ scheme: o.scheme, network: o.network, amount: o.amount, asset: o.asset }));
}

/**
 * Wraps `fetchFn` (e.g. globalThis.fetch): a 402 answered in x402 v2 with an offer agentpay can pay at
 * or under `maxAmount` is paid (within the grant: declines reject with PAYMENT_DECLINED, an approval is
 * waited for) and the request sent again with PAYMENT-SIGNATURE. Resolves to `{ response, receipt }`;
 * any other response comes back untouched (`receipt` unset). Rejects with X402_NO_PAYABLE_OFFER (nothing
 * was asked of agentpay), X402_APPROVAL_TIMEOUT, X402_PAYMENT_DENIED, X402_PAYMENT_REFUSED (the merchant
 * refused the payment; it is voided) or X402_RESPONSE_INVALID.
 */
export function fetchWithPayment(fetchFn: typeof fetch, payer: X402Payer, options: FetchWithPaymentOptions): PaidFetch {
  if (typeof fetchFn !== "function") throw new AgentPayError("INVALID_INPUT", "fetch must be a function", { field: "fetch" });
  if (payer === null || typeof payer !== "object" || typeof payer.requestPayment !== "function" || typeof payer.waitForApproval !== "function") {
    throw new AgentPayError("INVALID_INPUT", "the agent client must have requestPayment and waitForApproval", { field: "agentClient" });
  }
  if (options === null || typeof options !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
  if (!isId(options.subWalletId, "sw")) throw new AgentPayError("INVALID_ID", "subWalletId must be an id starting with sw_", { field: "subWalletId" });
  const max = options.maxAmount;
  if (max === null || typeof max !== "object" || typeof max.minor !== "bigint" || max.minor <= 0n || typeof max.currency !== "string") {
    throw new AgentPayError("INVALID_AMOUNT", "maxAmount must be a positive Amount ({ minor: bigint, currency })", { field: "maxAmount" });
  }
  const approvalTimeoutMs = options.approvalTimeoutMs ?? 60_000;
  if (!Number.isSafeInteger(approvalTimeoutMs) || approvalTimeoutMs < 0 || approvalTimeoutMs > 86_400_000) {
    throw new AgentPayError("INVALID_INPUT", "approvalTimeoutMs must be an integer from 0 to 86400000", { field: "approvalTimeoutMs" });
  }
  const emit = (e: PayEvent): void => {
    try {
      options.onEvent?.(e);
    } catch { /* the listener's failure is its own */ }
  };

  return async (input, init) => {
    // A URL with a body that can be sent twice (none, text, bytes, form fields) goes to fetchFn as it
    // came, and the paid retry is the same call with one more header; anything else (a Request, a
    // stream) is copied first, as only a Request can be sent twice. Both are what fetch sends.
    let first: { url: string; send: () => Promise<Response>; retry: (signature: string) => Promise<Response> };
    if ((typeof input === "string" || input instanceof URL) && replayable(init?.body)) {
      const url = new URL(input).href;
      first = {
        url,
        send: () => fetchFn(input, init),
        retry: (signature) => {
          const headers = new Headers(init?.headers);
          headers.set(PAYMENT_SIGNATURE_HEADER, signature);
          return fetchFn(input, { ...init, headers });
        },
      };
    } else {
      const request = new Request(input, init);
      const again = request.clone(); // the body, if any, for the paid retry
      first = {
        url: request.url,
        send: () => fetchFn(request),
        retry: (signature) => {
          const headers = new Headers(again.headers);
          headers.set(PAYMENT_SIGNATURE_HEADER, signature);
          return fetchFn(new Request(again, { headers }));
        },
      };
    }
    const res = await first.send();
    if (res.status !== 402) return { response: res };
    const header = res.headers.get(PAYMENT_REQUIRED_HEADER);
    if (header === null) return { response: res }; // a 402, but not x402's
    await discard(res);
    let required: PaymentRequired;
    try {
      required = decodePaymentRequired(header);
    } catch (e) {
      throw new AgentPayError("X402_RESPONSE_INVALID", "the 402's PAYMENT-REQUIRED is malformed", { url: first.url, cause: (e as AgentPayError).message });
    }
    emit({ kind: "payment_required", url: first.url, offers: required.accepts });
    const candidates = required.accepts.map((o) => payable(o, max)).filter((p): p is Payable => p !== undefined);
    let chosen: Payable | undefined;
    if (options.select) {
      const picked = options.select(candidates.map((c) => c.offer));
      chosen = candidates.find((c) => c.offer === picked);
    } else {
      chosen = candidates.sort((a, b) => (a.amount.minor < b.amount.minor ? -1 : a.amount.minor > b.amount.minor ? 1 : a.offer.scheme === TOKEN_SCHEME ? -1 : 1))[0];
    }
    if (!chosen) {
      throw new AgentPayError("X402_NO_PAYABLE_OFFER", "no offer can be paid within maxAmount in agentpay's schemes", {
        url: first.url, offers: summary(required.accepts), maxAmount: { minor: max.minor.toString(), currency: max.currency },
      });
    }
    emit({ kind: "paying", url: first.url, offer: chosen.offer, amount: chosen.amount });
    const { result, approvalId } = await obtainPayment(payer, chosen, { ...options, approvalTimeoutMs }, {
      pending: (paymentId, id) => emit({ kind: "pending_approval", url: first.url, paymentId, approvalId: id }),
      approved: (paymentId) => emit({ kind: "approved", url: first.url, paymentId }),
    });
    const paymentId = result.paymentId;
    const release = async (): Promise<void> => {
      try {
        await payer.voidPayment?.(paymentId);
      } catch { /* captured after all, or already released */ }
    };
    let payload: Record<string, unknown>;
    if (chosen.offer.scheme === VOUCHER_SCHEME) {
      const v: SignedVoucher | undefined = result.voucher;
      const settlement = chosen.offer.extra.settlement;
      if (!v || chosen.offer.network !== `eip155:${v.chainId}` || (typeof settlement === "string" && settlement.toLowerCase() !== v.settlement.toLowerCase())) {
        await release();
        throw new AgentPayError("X402_PAYMENT_REFUSED", "agentpay's voucher is not for the chain and contract the merchant offers", { reason: "voucher_mismatch", paymentId });
      }
      payload = voucherPayload(result.token, v);
    } else {
      payload = { token: result.token };
    }
    const signed: PaymentPayload = {
      x402Version: X402_VERSION, resource: required.resource, accepted: chosen.offer, payload,
      ...(required.extensions ? { extensions: required.extensions } : {}),
    };
    // A transport failure here leaves the payment as it is: the merchant may have captured it (a retry of
    // this request with the same PAYMENT-SIGNATURE gets the response replayed), else the token expires.
    const paid = await first.retry(encodePaymentSignature(signed));
    const responseHeader = paid.headers.get(PAYMENT_RESPONSE_HEADER);
    let settle: SettleResponse | undefined;
    if (responseHeader !== null) {
      try {
        settle = decodePaymentResponse(responseHeader);
      } catch {
        await paid.body?.cancel().catch(() => {});
        throw new AgentPayError("X402_RESPONSE_INVALID", "the PAYMENT-RESPONSE is malformed", { url: first.url, paymentId });
      }
    }
    if (paid.status === 402 || paid.status === 400 || (settle !== undefined && !settle.success && settle.transaction === "")) {
      await paid.body?.cancel().catch(() => {});
      await release();
      throw new AgentPayError("X402_PAYMENT_REFUSED", `the merchant refused the payment${settle?.errorReason ? ` (${settle.errorReason})` : ""}`, {
        url: first.url, paymentId, status: paid.status, reason: settle?.errorReason ?? "unknown", ...(settle?.errorMessage ? { message: settle.errorMessage } : {}),
      });
    }
    const receipt: X402Receipt = {
      paymentId, merchantId: chosen.merchantId, amount: chosen.amount, offer: chosen.offer,
      ...(chosen.reference !== undefined ? { reference: chosen.reference } : {}),
      ...(settle ? { settle } : {}), ...(approvalId ? { approvalId } : {}),
    };
    emit({ kind: "paid", url: first.url, receipt, status: paid.status });
    return { response: paid, receipt };
  };
}
