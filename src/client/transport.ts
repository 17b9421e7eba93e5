// One request over HTTP, the way every client sends it: typed by the OpenAPI document (openapi-fetch
// over ./openapi.ts), bounded in time, retried only where a retry cannot do a thing twice, and every
// failure an AgentPayError (never a raw HTTP or network error).
//
// Retries (at most `maxRetries`, with jittered exponential backoff, or the server's Retry-After):
//   - always, when the request surely did not take effect: connection refused, 429 RATE_LIMITED, 503
//     ENGINE_OVERLOADED / ENGINE_CLOSED / NOT_LEADER / TOKEN_ISSUER_NOT_READY (refused before running);
//   - only for idempotent requests (GETs, writes carrying an Idempotency-Key or an intent's
//     idempotencyKey, resent unchanged) when the outcome is unknown: a lost connection, a timeout,
//     503 STORE_FAILURE, a 502/504 from something in between.
import createClient from "openapi-fetch";
import { AgentPayError } from "../core/index.ts";
import type { CurrencyRegistry } from "../core/index.ts";
import type { ErrorCode } from "../core/index.ts";
import type { paths } from "./openapi.ts";
import { Decimals } from "./wire.ts";

export interface ClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** Each attempt's limit, ms. Default 30,000 (a long-poll adds its wait). */
  timeoutMs?: number;
  /** Further attempts after a failure worth retrying (see above). Default 2, at most 10. */
  maxRetries?: number;
  /** Longest pause before a retry, ms; a Retry-After beyond it is not waited for. Default 5,000. */
  maxRetryDelayMs?: number;
  /** A fetch of your own, e.g. undici's with a tuned dispatcher. Default `globalThis.fetch` (keep-alive). */
  fetch?: (request: Request) => Promise<Response>;
  /** Decimals of extra assets (e.g. USDC). ISO 4217 is built in; others are also learned from the server's answers. */
  currencies?: CurrencyRegistry;
}

/**
 * Every failure a client reports: the server's `code`, `message` and `details`, plus the request id
 * (quote it to the operator) and the HTTP status. Client-side failures carry CONNECTION_FAILED,
 * REQUEST_TIMEOUT or RESPONSE_INVALID and no status.
 */
export class AgentPayHttpError extends AgentPayError {
  /** The server's `Request-Id` (absent when no answer came). */
  readonly requestId: string | undefined;
  readonly status: number | undefined;
  /** How many attempts were made. */
  attempts = 1;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown>, extra: { requestId?: string | undefined; status?: number | undefined; cause?: unknown } = {}) {
    super(code, message, details, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.requestId = extra.requestId;
    this.status = extra.status;
  }
}

export type Api = ReturnType<typeof createClient<paths>>;
type Fetch = (request: Request) => Promise<Response>;
/** What one attempt gets: its deadline, and the fetch to use (plain, or signing for agents). */
export interface AttemptInit { signal: AbortSignal; fetch: Fetch }
type Answer = { data?: unknown; error?: unknown; response: Response };

export interface CallOptions {
  /** A retry cannot do anything twice (see above). */
  idempotent: boolean;
  /** This attempt's limit, ms (default the client's). */
  timeoutMs?: number;
  /** Agents: sign this request (`Authorization: Agent <JWS>`). */
  signed?: boolean;
}

/** Refused before anything ran: safe to resend whatever the request. */
const NOT_APPLIED = new Set(["RATE_LIMITED", "ENGINE_OVERLOADED", "ENGINE_CLOSED", "NOT_LEADER", "TOKEN_ISSUER_NOT_READY"]);
/** The outcome is unknown: resend only what is idempotent. */
const UNKNOWN_OUTCOME = new Set(["STORE_FAILURE"]);
const BASE_DELAY_MS = 100;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function bounded(v: number | undefined, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new AgentPayError("INVALID_INPUT", `${name} must be an integer from ${min} to ${max}`, { field: name });
  return v;
}

/** The network failure a fetch threw, as an AgentPayHttpError; `refused` when nothing reached the server. */
function networkError(e: unknown): AgentPayHttpError {
  if (e instanceof AgentPayHttpError) return e;
  const name = (e as { name?: string } | null)?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return new AgentPayHttpError("REQUEST_TIMEOUT", "no answer from the server in time", {}, { cause: e });
  }
  if (name === "SyntaxError") return new AgentPayHttpError("RESPONSE_INVALID", "the server's answer is not JSON", {}, { cause: e });
  const cause = (e as { cause?: { code?: unknown } } | null)?.cause;
  const sysCode = typeof cause?.code === "string" ? cause.code : undefined;
  return new AgentPayHttpError("CONNECTION_FAILED", `could not reach the server${sysCode ? ` (${sysCode})` : ""}`, sysCode ? { cause: sysCode } : {}, { cause: e });
}

function refused(e: AgentPayHttpError): boolean {
  return e.code === "CONNECTION_FAILED" && (e.details.cause === "ECONNREFUSED" || e.details.cause === "UND_ERR_CONNECT_TIMEOUT");
}

/** The API's error body as an AgentPayHttpError (or RESPONSE_INVALID when it is not one). */
function answerError(body: unknown, res: Response): AgentPayHttpError {
  const requestId = res.headers.get("request-id") ?? undefined;
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown; requestId?: unknown } } | null)?.error;
  if (e && typeof e === "object" && typeof e.code === "string" && /^[A-Z][A-Z0-9_]{1,63}$/.test(e.code) && typeof e.message === "string") {
    const details = e.details !== null && typeof e.details === "object" && !Array.isArray(e.details) ? e.details as Record<string, unknown> : {};
    // A code this library version does not know (a newer server's) is still the server's code.
    const code = e.code as ErrorCode;
    return new AgentPayHttpError(code, e.message, details, { requestId: typeof e.requestId === "string" ? e.requestId : requestId, status: res.status });
  }
  return new AgentPayHttpError("RESPONSE_INVALID", `the server answered ${res.status} without the API's error body`, { status: res.status }, { requestId, status: res.status });
}

function retryAfterMs(res: Response): number | undefined {
  const h = res.headers.get("retry-after");
  if (h === null) return undefined;
  if (/^\d{1,6}$/.test(h)) return Number(h) * 1000;
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export class Transport {
  readonly api: Api;
  readonly decimals: Decimals;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #maxRetryDelayMs: number;
  readonly #plain: Fetch;
  readonly #signed: Fetch;

  /**
   * `headers` go on every request (an API key); `sign` authenticates an agent's request: it gets the
   * request as it will be sent and sets its Authorization header.
   */
  constructor(opts: ClientOptions, extra: { headers?: Record<string, string>; sign?: (request: Request) => Promise<void> } = {}) {
    if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "client options must be an object");
    let base: URL;
    try {
      base = new URL(opts.baseUrl);
    } catch {
      throw new AgentPayError("INVALID_INPUT", "baseUrl must be an absolute http(s) URL", { field: "baseUrl" });
    }
    if (base.protocol !== "http:" && base.protocol !== "https:") throw new AgentPayError("INVALID_INPUT", "baseUrl must be http(s)", { field: "baseUrl" });
    this.#timeoutMs = bounded(opts.timeoutMs, "timeoutMs", 30_000, 1, 600_000);
    this.#maxRetries = bounded(opts.maxRetries, "maxRetries", 2, 0, 10);
    this.#maxRetryDelayMs = bounded(opts.maxRetryDelayMs, "maxRetryDelayMs", 5_000, 0, 600_000);
    if (opts.fetch !== undefined && typeof opts.fetch !== "function") throw new AgentPayError("INVALID_INPUT", "fetch must be a function", { field: "fetch" });
    const send: Fetch = opts.fetch ?? ((r) => globalThis.fetch(r));
    this.#plain = async (r) => {
      try {
        return await send(r);
      } catch (e) {
        throw networkError(e);
      }
    };
    const sign = extra.sign;
    this.#signed = sign ? async (r) => {
      await sign(r);
      return this.#plain(r);
    } : this.#plain;
    this.decimals = new Decimals(opts.currencies);
    this.api = createClient<paths>({ baseUrl: base.href.replace(/\/$/, ""), ...(extra.headers ? { headers: extra.headers } : {}) });
  }

  /**
   * Runs `op` (one typed openapi-fetch call) until it succeeds or fails for good; returns the
   * response's JSON. `op` is called anew for each attempt, so signatures are fresh each time.
   */
  async call<T = unknown>(op: (api: Api, init: AttemptInit) => Promise<Answer>, opts: CallOptions): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    for (let attempt = 1; ; attempt++) {
      let failure: AgentPayHttpError;
      let retry: boolean;
      let waitMs: number | undefined;
      try {
        const { data, error, response } = await op(this.api, { signal: AbortSignal.timeout(timeoutMs), fetch: opts.signed ? this.#signed : this.#plain });
        if (response.ok) {
          if (data === undefined || data === null || typeof data !== "object") {
            throw new AgentPayHttpError("RESPONSE_INVALID", `the server answered ${response.status} without a JSON body`, { status: response.status }, { status: response.status });
          }
          return data as T;
        }
        failure = answerError(error, response);
        waitMs = retryAfterMs(response);
        retry = NOT_APPLIED.has(failure.code)
          || (opts.idempotent && (UNKNOWN_OUTCOME.has(failure.code) || (failure.code === "RESPONSE_INVALID" && (response.status === 502 || response.status === 504))));
      } catch (e) {
        failure = networkError(e);
        retry = refused(failure) || (opts.idempotent && (failure.code === "CONNECTION_FAILED" || failure.code === "REQUEST_TIMEOUT"));
      }
      failure.attempts = attempt;
      if (!retry || attempt > this.#maxRetries) throw failure;
      const backoff = BASE_DELAY_MS * 2 ** (attempt - 1);
      const delay = waitMs ?? Math.round(backoff / 2 + Math.random() * backoff / 2);
      if (delay > this.#maxRetryDelayMs) throw failure;
      await sleep(delay);
    }
  }
}
