// The paid route's logic, independent of the web framework (middleware.ts adapts it to Hono, Express and
// node:http). Per request: no PAYMENT-SIGNATURE → 402 with the offers; a malformed one → 400; one that
// does not pay for this request → 402 with the reason; else the token is verified offline (JWKS), its
// payment captured exactly once (settle), and only then does the handler run, once.
//
// "Serve once": one payment buys one run of the handler, for one request (its method, path and query,
// bound by the payment's reference). The capture is the lock: a second capture of the token fails at
// the issuer, so two processes or a restart can never serve it twice. Within this process, a request
// that repeats a paid one (same token, same URL) while it runs, or up to `replayWindowMs` after, gets
// the same response again (byte for byte, `Idempotent-Replayed: true`) rather than a 402, so a client
// whose response was lost can retry; the handler does not run again and nothing more is captured.
// After the window, in another process, or for a response larger than `maxReplayBytes`, the repeat is
// refused (402, token_already_redeemed). A handler that fails (5xx or throws) after the capture gets
// its payment refunded in full (unless `refundOnServerError: false`).
import { AgentPayError, defaultCurrencies, isAgentPayError, newId, systemClock, validateAmount, validateId } from "../core/index.ts";
import type { Amount, Clock, CurrencyRegistry } from "../core/index.ts";
import { TokenVerifier } from "../index.ts";
import type { AgentPay, VerifiedToken } from "../index.ts";
import { decodePaymentSignature, encodePaymentRequired, encodePaymentResponse } from "./codec.ts";
import { AgentPayFacilitator, reasonOf } from "./facilitator.ts";
import type { Refusal } from "./facilitator.ts";
import { buildOffers, checkOnchain, ledgerNetwork, requestReference, sameOffer } from "./offers.ts";
import type { OnchainOffer } from "./offers.ts";
import { RemoteFacilitator } from "./remote.ts";
import type { AgentPayServerOptions } from "./remote.ts";
import { PAYMENT_REQUIRED_HEADER, PAYMENT_RESPONSE_HEADER, TOKEN_SCHEME, VOUCHER_SCHEME, X402_VERSION } from "./types.ts";
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from "./types.ts";
import type { VoucherSettler } from "./voucher.ts";

export interface RequirePaymentOptions {
  /** The price of one request, e.g. `amount("0.05", "USD")`. */
  price: Amount;
  /** The merchant the route belongs to (`mer_…`). */
  merchantId: string;
  /** Shown to the agent (x402 `resource.description`). */
  description?: string;
  /** x402 `resource.mimeType` of what the route returns. */
  mimeType?: string;
  /** Settle in this process, through this AgentPay. */
  agentpay?: AgentPay;
  /** Or settle through an agentpay server (its /x402/settle) with the merchant's API key. */
  server?: AgentPayServerOptions;
  /** For a merchant that settles on-chain: the voucher scheme's chain and contracts, and who redeems. */
  onchain?: OnchainOffer & { settler: VoucherSettler };
  /** x402 `maxTimeoutSeconds` of the offers. Default 300. */
  maxTimeoutSeconds?: number;
  /** How long a paid response is replayed to a repeat of its request. Default 60 s; 0: never (a repeat is refused). */
  replayWindowMs?: number;
  /** Largest response kept for replay. Default 1 MiB. */
  maxReplayBytes?: number;
  /** Refund the payment when the handler fails (5xx or throws). Default true. */
  refundOnServerError?: boolean;
  /** The resource URL in the 402 (default: the request's own URL). */
  resourceUrl?: (request: { method: string; url: string }) => string;
  /** Decimals of the price's currency (default the AgentPay's registry, else ISO 4217). */
  currencies?: CurrencyRegistry;
  /** For the replay window. Default the system clock. */
  clock?: Clock;
  /** Told of every settled, refused, replayed and refunded request (for logs). Must not throw. */
  onEvent?: (event: GateEvent) => void;
}

export type GateEvent =
  | { kind: "settled"; paymentId: string; agentId: string; amount: Amount; reference: string }
  | { kind: "refused"; reason: string; message: string; reference: string }
  | { kind: "replayed"; paymentId: string; reference: string }
  | { kind: "refunded"; paymentId: string; status: number }
  | { kind: "refund_failed"; paymentId: string; error: string };

/** The request as the gate needs it. */
export interface GateRequest {
  method: string;
  /** Absolute URL. */
  url: string;
  /** The PAYMENT-SIGNATURE header as received (undefined when absent). */
  signature: string | undefined;
}

/** What the adapter sends when the gate answers itself. */
export interface GateResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string | Uint8Array;
}

/** What the handler's response came to: the adapter reports it once, with the body when it could keep it. */
export interface ServedOutcome {
  status: number;
  headers: Array<[string, string]>;
  /** The whole body, or undefined (larger than maxReplayBytes, streamed away, or cut off). */
  body: Uint8Array | undefined;
}

export interface Ticket {
  readonly paymentId: string;
  /** The PAYMENT-RESPONSE header for a response with this status (a failure is refunded). */
  paymentResponseFor(status: number): string;
  /** Call once when the response is complete (or the handler threw: status 500, no body). */
  finish(outcome: ServedOutcome): void;
  readonly maxReplayBytes: number;
}

export type Decision = { kind: "respond"; response: GateResponse } | { kind: "serve"; ticket: Ticket } | { kind: "pass" };

interface Served { atMs: number; stored: GateResponse | undefined; paymentId: string }
interface InFlight { done: Promise<void> }

const MAX_ENTRIES = 10_000;
const MAX_STORED_BYTES = 64 * 1024 * 1024;

function json(status: number, body: unknown, headers: Record<string, string> = {}): GateResponse {
  return { status, headers: Object.entries({ "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers }), body: JSON.stringify(body) };
}

export class PaymentGate {
  readonly #o: RequirePaymentOptions;
  readonly #price: Amount;
  readonly #currencies: CurrencyRegistry;
  readonly #clock: Clock;
  readonly #local: AgentPayFacilitator | undefined;
  readonly #remote: RemoteFacilitator | undefined;
  readonly #onchain: (OnchainOffer & { settler: VoucherSettler }) | undefined;
  readonly #replayWindowMs: number;
  readonly #maxReplayBytes: number;
  readonly #served = new Map<string, Served>();
  readonly #inFlight = new Map<string, InFlight>();
  #storedBytes = 0;
  #verifier: TokenVerifier | undefined;

  constructor(o: RequirePaymentOptions) {
    if (o === null || typeof o !== "object") throw new AgentPayError("INVALID_INPUT", "requirePayment options must be an object");
    if ((o.agentpay === undefined) === (o.server === undefined)) {
      throw new AgentPayError("INVALID_INPUT", "give exactly one of agentpay (settle in-process) or server (settle over HTTP)", { field: "agentpay" });
    }
    this.#o = o;
    validateId(o.merchantId, "mer", "merchantId");
    this.#currencies = o.currencies ?? o.agentpay?.currencies ?? defaultCurrencies;
    this.#price = validateAmount(o.price, { positive: true, registry: this.#currencies });
    this.#clock = o.clock ?? o.agentpay?.clock ?? systemClock;
    this.#local = o.agentpay ? new AgentPayFacilitator(o.agentpay) : undefined;
    this.#remote = o.server ? new RemoteFacilitator(o.server) : undefined;
    this.#onchain = o.onchain ? { ...checkOnchain(o.onchain), settler: o.onchain.settler } : undefined;
    if (this.#onchain && typeof this.#onchain.settler?.redeem !== "function") {
      throw new AgentPayError("INVALID_INPUT", "onchain.settler must redeem vouchers", { field: "onchain.settler" });
    }
    const int = (v: number | undefined, d: number, max: number, field: string) => {
      const x = v ?? d;
      if (!Number.isSafeInteger(x) || x < 0 || x > max) throw new AgentPayError("INVALID_INPUT", `${field} must be an integer from 0 to ${max}`, { field });
      return x;
    };
    this.#replayWindowMs = int(o.replayWindowMs, 60_000, 3_600_000, "replayWindowMs");
    this.#maxReplayBytes = int(o.maxReplayBytes, 1024 * 1024, 16 * 1024 * 1024, "maxReplayBytes");
    int(o.maxTimeoutSeconds, 300, 86_400, "maxTimeoutSeconds");
    if (o.description !== undefined && (typeof o.description !== "string" || o.description.length > 1024)) {
      throw new AgentPayError("INVALID_INPUT", "description must be at most 1024 characters", { field: "description" });
    }
  }

  #emit(e: GateEvent): void {
    try {
      this.#o.onEvent?.(e);
    } catch { /* the listener's failure is its own */ }
  }

  async #issuer(): Promise<string> {
    return this.#local ? this.#local.issuer : (await this.#remote!.info()).issuer;
  }

  #offers(issuer: string, reference: string): PaymentRequirements[] {
    return buildOffers({
      merchantId: this.#o.merchantId, price: this.#price, issuer, reference, maxTimeoutSeconds: this.#o.maxTimeoutSeconds ?? 300,
      currencies: this.#currencies, ...(this.#onchain ? { onchain: this.#onchain } : {}),
    });
  }

  #required(req: GateRequest, offers: PaymentRequirements[], error: string): PaymentRequired {
    const url = this.#o.resourceUrl ? this.#o.resourceUrl({ method: req.method, url: req.url }) : req.url;
    return {
      x402Version: X402_VERSION, error,
      resource: { url, ...(this.#o.description !== undefined ? { description: this.#o.description } : {}), ...(this.#o.mimeType !== undefined ? { mimeType: this.#o.mimeType } : {}) },
      accepts: offers,
    };
  }

  /** 402 with the offers; with PAYMENT-RESPONSE too when a payment was tried and refused. */
  #paymentRequired(req: GateRequest, offers: PaymentRequirements[], error: string, refused?: SettleResponse): GateResponse {
    const pr = this.#required(req, offers, error);
    return json(402, pr, {
      [PAYMENT_REQUIRED_HEADER]: encodePaymentRequired(pr),
      ...(refused ? { [PAYMENT_RESPONSE_HEADER]: encodePaymentResponse(refused) } : {}),
    });
  }

  #refused(req: GateRequest, offers: PaymentRequirements[], reference: string, r: Refusal, network: PaymentRequirements["network"]): Decision {
    this.#emit({ kind: "refused", reason: r.reason, message: r.message, reference });
    const settle: SettleResponse = { success: false, errorReason: r.reason, errorMessage: r.message, transaction: "", network, ...(r.payer ? { payer: r.payer } : {}) };
    return { kind: "respond", response: this.#paymentRequired(req, offers, `payment refused: ${r.reason}: ${r.message}`, settle) };
  }

  /** Decides what to do with one request. Never rejects for a bad payment: that is a 4xx answer. */
  async begin(req: GateRequest): Promise<Decision> {
    if (req.method === "OPTIONS") return { kind: "pass" };
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return { kind: "respond", response: json(400, { error: { code: "INVALID_INPUT", message: "the request URL is malformed", details: {} } }) };
    }
    const reference = requestReference(req.method, `${url.pathname}${url.search}`);
    let issuer: string;
    try {
      issuer = await this.#issuer();
    } catch (e) {
      return { kind: "respond", response: this.#unavailable(e) };
    }
    const offers = this.#offers(issuer, reference);
    if (req.signature === undefined) {
      return { kind: "respond", response: this.#paymentRequired(req, offers, "PAYMENT-SIGNATURE header is required") };
    }
    let payload: PaymentPayload;
    try {
      payload = decodePaymentSignature(req.signature);
    } catch (e) {
      const err = isAgentPayError(e) ? e : new AgentPayError("X402_HEADER_INVALID", "PAYMENT-SIGNATURE is malformed");
      const pr = this.#required(req, offers, err.message);
      return { kind: "respond", response: json(400, { error: { code: err.code, message: err.message, details: err.details } }, { [PAYMENT_REQUIRED_HEADER]: encodePaymentRequired(pr) }) };
    }
    const offer = offers.find((o) => sameOffer(o, payload.accepted));
    if (!offer) {
      this.#emit({ kind: "refused", reason: "invalid_payment_requirements", message: "no offer of this route matches", reference });
      return { kind: "respond", response: this.#paymentRequired(req, offers, "payment refused: the payment accepted none of this route's offers (another price, route or merchant)") };
    }
    const token = (payload.payload as { token?: unknown }).token;
    if (typeof token !== "string" || token.length > 8192) {
      return this.#refused(req, offers, reference, { reason: "invalid_payload", message: "the payload carries no token" }, offer.network);
    }
    let verified: VerifiedToken;
    try {
      verified = await this.#verifyOffline(token, issuer);
    } catch (e) {
      if (isAgentPayError(e, "X402_FACILITATOR_UNAVAILABLE")) return { kind: "respond", response: this.#unavailable(e) };
      return this.#refused(req, offers, reference, reasonOf(e), offer.network);
    }
    const key = `${verified.tokenId} ${reference}`;
    for (let round = 0; round < 3; round++) {
      const served = this.#servedEntry(key);
      if (served) {
        if (served.stored) {
          this.#emit({ kind: "replayed", paymentId: served.paymentId, reference });
          return { kind: "respond", response: { ...served.stored, headers: [...served.stored.headers, ["idempotent-replayed", "true"]] } };
        }
        return this.#refused(req, offers, reference, { reason: "token_already_redeemed", message: "this payment was used for a response already", payer: verified.agentId }, offer.network);
      }
      const running = this.#inFlight.get(key);
      if (!running) break;
      await running.done;
    }
    let release!: () => void;
    const flight: InFlight = { done: new Promise<void>((r) => { release = r; }) };
    this.#inFlight.set(key, flight);
    let handedOver = false;
    try {
      const settled = await this.#settle(payload, offer, verified);
      if (!settled.response.success) {
        return this.#refused(req, offers, reference, {
          reason: settled.response.errorReason ?? "unexpected_settle_error", message: settled.response.errorMessage ?? "refused", payer: verified.agentId,
        }, offer.network);
      }
      const paymentId = settled.paymentId;
      this.#emit({ kind: "settled", paymentId, agentId: verified.agentId, amount: this.#price, reference });
      handedOver = true;
      return { kind: "serve", ticket: this.#ticket(key, flight, release, paymentId, settled.response) };
    } catch (e) {
      return { kind: "respond", response: this.#unavailable(e) };
    } finally {
      if (!handedOver) {
        this.#inFlight.delete(key);
        release();
      }
    }
  }

  #unavailable(e: unknown): GateResponse {
    const err = isAgentPayError(e) ? e : new AgentPayError("INTERNAL_ERROR", "internal error");
    const status = err.code === "X402_FACILITATOR_UNAVAILABLE" ? 502 : err.code === "INTERNAL_ERROR" ? 500 : 503;
    return json(status, { error: { code: err.code, message: err.message, details: err.details } }, status === 503 ? { "retry-after": "1" } : {});
  }

  async #verifyOffline(token: string, issuer: string): Promise<VerifiedToken> {
    if (this.#remote) return this.#remote.verifyOffline(token, this.#o.merchantId, issuer);
    const pay = this.#o.agentpay!;
    const opts = { audience: this.#o.merchantId, issuer, clock: pay.clock };
    this.#verifier ??= new TokenVerifier(pay.tokens.jwks());
    // The signature is checked on libuv's thread pool: the merchant's event loop (here also agentpay's)
    // does not spend a public-key operation per paid request.
    try {
      return await this.#verifier.verifyAsync(token, opts);
    } catch (e) {
      if (!isAgentPayError(e, "TOKEN_KEY_UNKNOWN")) throw e;
      this.#verifier = new TokenVerifier(pay.tokens.jwks()); // the issuer rotated its keys
      return this.#verifier.verifyAsync(token, opts);
    }
  }

  async #settle(payload: PaymentPayload, offer: PaymentRequirements, verified: VerifiedToken): Promise<{ response: SettleResponse; paymentId: string }> {
    // One key per attempt: a transport retry of this settle is harmless, a second request is refused.
    const idempotencyKey = newId("x402");
    if (offer.scheme === VOUCHER_SCHEME) {
      const { settleVoucher } = await import("./voucher.ts");
      return settleVoucher(this.#onchain!, this.#o.merchantId, payload, offer, verified, idempotencyKey, this.#clock.nowMs());
    }
    if (offer.scheme !== TOKEN_SCHEME) throw new AgentPayError("INVALID_INPUT", "unknown scheme");
    if (this.#local) {
      const s = await this.#local.settle(this.#o.merchantId, payload, offer, { verified, idempotencyKey });
      return { response: s.response, paymentId: s.response.transaction };
    }
    const response = await this.#remote!.settle(payload, offer, idempotencyKey);
    return { response, paymentId: response.transaction };
  }

  #servedEntry(key: string): Served | undefined {
    const s = this.#served.get(key);
    if (!s) return undefined;
    // Past the window the stored body goes, but the entry stays a little longer: in this process the
    // repeat is refused at once (the issuer would refuse it anyway).
    if (s.stored && this.#clock.nowMs() - s.atMs >= this.#replayWindowMs) {
      this.#storedBytes -= s.stored.body.length;
      this.#served.set(key, { ...s, stored: undefined });
      return { ...s, stored: undefined };
    }
    return s;
  }

  #remember(key: string, s: Served): void {
    this.#served.delete(key);
    this.#served.set(key, s);
    if (s.stored) this.#storedBytes += s.stored.body.length;
    while (this.#served.size > MAX_ENTRIES || this.#storedBytes > MAX_STORED_BYTES) {
      const [k, old] = this.#served.entries().next().value!;
      this.#served.delete(k);
      if (old.stored) this.#storedBytes -= old.stored.body.length;
    }
  }

  #ticket(key: string, flight: InFlight, release: () => void, paymentId: string, settle: SettleResponse): Ticket {
    const refund = this.#o.refundOnServerError !== false && !this.#onchain;
    let finished = false;
    return {
      paymentId,
      maxReplayBytes: this.#maxReplayBytes,
      paymentResponseFor: (status) => encodePaymentResponse(status >= 500 && refund
        ? { success: false, errorReason: "resource_failed", errorMessage: "the resource failed; the payment is refunded", transaction: paymentId, network: settle.network, ...(settle.payer ? { payer: settle.payer } : {}) }
        : settle),
      finish: (outcome) => {
        if (finished) return;
        finished = true;
        try {
          const failed = outcome.status >= 500;
          const keep = !failed && this.#replayWindowMs > 0 && outcome.body !== undefined && outcome.body.length <= this.#maxReplayBytes;
          const stored: GateResponse | undefined = keep
            ? { status: outcome.status, headers: outcome.headers.filter(([h]) => !/^(content-length|transfer-encoding|connection|date|keep-alive|idempotent-replayed)$/i.test(h)), body: outcome.body! }
            : undefined;
          this.#remember(key, { atMs: this.#clock.nowMs(), stored, paymentId });
          if (failed && refund) void this.#refund(paymentId, outcome.status);
        } finally {
          this.#inFlight.delete(key);
          release();
        }
      },
    };
  }

  async #refund(paymentId: string, status: number): Promise<void> {
    const idempotencyKey = `x402-refund-${paymentId}`;
    try {
      if (this.#onchain) {
        throw new AgentPayError("CHAIN_PAYMENT_ON_CHAIN", "an on-chain payment is refunded with the settlement contract");
      } else if (this.#local) {
        await this.#o.agentpay!.payments.refund({ paymentId, merchantId: this.#o.merchantId, amount: this.#price, idempotencyKey, reason: "x402: the paid resource failed" });
      } else if (this.#remote) {
        await this.#remote.refund(paymentId, this.#price, this.#currencies, idempotencyKey);
      }
      this.#emit({ kind: "refunded", paymentId, status });
    } catch (e) {
      this.#emit({ kind: "refund_failed", paymentId, error: isAgentPayError(e) ? e.code : "INTERNAL_ERROR" });
    }
  }

  /** The issuer's ledger network of this gate (for tests and logs). */
  async network(): Promise<string> {
    return this.#onchain ? `eip155:${this.#onchain.chainId}` : ledgerNetwork(await this.#issuer());
  }
}
