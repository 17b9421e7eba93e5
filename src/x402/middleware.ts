// requirePayment(options): one middleware for Hono (`(c, next)`), Express and plain node:http
// (`(req, res, next)`), around the framework-neutral PaymentGate. It answers 402/400 itself; once the
// payment is captured it runs the route, adds PAYMENT-RESPONSE to its response and reports the
// response to the gate (kept for replay, or refunded when it failed).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, Next } from "hono";
import { PaymentGate } from "./gate.ts";
import type { Decision, GateResponse, RequirePaymentOptions, Ticket } from "./gate.ts";
import { PAYMENT_RESPONSE_HEADER } from "./types.ts";

/** A middleware for Hono, Express and node:http alike. */
export interface PaymentMiddleware {
  /** Hono: `app.get("/paid", requirePayment({ … }), handler)`. */
  (c: Context, next: Next): Promise<Response | void>;
  /** Express: `app.get("/paid", requirePayment({ … }), handler)`; node:http: `gate(req, res, () => handler(req, res))`. */
  (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
  readonly gate: PaymentGate;
}

/**
 * A paid route: 402 with agentpay's x402 offers without a payment; with a PAYMENT-SIGNATURE, the
 * payment is verified offline, captured exactly once, and the route served once (gate.ts says what a
 * repeat gets). Settles in-process (`agentpay`) or through an agentpay server (`server`).
 */
export function requirePayment(options: RequirePaymentOptions): PaymentMiddleware {
  const gate = new PaymentGate(options);
  function middleware(a: unknown, b: unknown, c?: unknown): Promise<Response | void> | void {
    if (typeof b === "function") return hono(gate, a as Context, b as Next);
    nodeStyle(gate, a as IncomingMessage & { originalUrl?: string; protocol?: string }, b as ServerResponse, c as (err?: unknown) => void);
  }
  return Object.assign(middleware, { gate }) as PaymentMiddleware;
}

// ------------------------------------------------------------------ Hono (Web Request/Response)

async function hono(gate: PaymentGate, c: Context, next: Next): Promise<Response | void> {
  const d: Decision = await gate.begin({ method: c.req.method, url: c.req.url, signature: c.req.header("payment-signature") });
  if (d.kind === "pass") return next();
  if (d.kind === "respond") return webResponse(d.response);
  const t = d.ticket;
  // On @hono/node-server the response is written to node's ServerResponse: watch what goes out there,
  // as for Express, rather than re-wrapping the Response and teeing its body (a stream per request).
  const out = nodeOutgoing(c);
  if (out) intercept(t, out);
  try {
    await next();
  } catch (e) {
    t.finish({ status: 500, headers: [], body: undefined });
    throw e;
  }
  if (out) return;
  const status = c.res.status;
  c.header(PAYMENT_RESPONSE_HEADER, t.paymentResponseFor(status));
  if (status >= 500 || !c.res.body) {
    t.finish({ status, headers: [...c.res.headers.entries()], body: c.res.body ? undefined : new Uint8Array(0) });
    return;
  }
  // The client gets the response as it streams; a copy is read alongside, up to maxReplayBytes.
  void keepCopy(c.res.clone(), t);
}

/** The ServerResponse @hono/node-server will write this request's response to (`c.env.outgoing`), if any. */
function nodeOutgoing(c: Context): ServerResponse | undefined {
  const out = (c.env as { outgoing?: Partial<ServerResponse> } | undefined)?.outgoing;
  return out && typeof out === "object" && typeof out.writeHead === "function" && typeof out.getHeaders === "function"
    && typeof out.once === "function" && out.headersSent === false ? out as ServerResponse : undefined;
}

async function keepCopy(copy: Response, t: Ticket): Promise<void> {
  const headers = [...copy.headers.entries()];
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = copy.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > t.maxReplayBytes) {
        await reader.cancel();
        t.finish({ status: copy.status, headers, body: undefined });
        return;
      }
      chunks.push(value);
    }
    t.finish({ status: copy.status, headers, body: Buffer.concat(chunks) });
  } catch {
    t.finish({ status: copy.status, headers, body: undefined });
  }
}

function webResponse(r: GateResponse): Response {
  return new Response(typeof r.body === "string" ? r.body : new Uint8Array(r.body), { status: r.status, headers: r.headers });
}

// ------------------------------------------------------------------ Express and node:http

function nodeStyle(gate: PaymentGate, req: IncomingMessage & { originalUrl?: string; protocol?: string }, res: ServerResponse, next: (err?: unknown) => void): void {
  const raw = req.headers["payment-signature"];
  const signature = Array.isArray(raw) ? raw.join(", ") : raw;
  // Express knows the protocol behind its trusted proxies; plain node:http only the socket.
  const proto = typeof req.protocol === "string" ? req.protocol : (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http";
  const url = `${proto}://${req.headers.host ?? "localhost"}${req.originalUrl ?? req.url ?? "/"}`;
  gate.begin({ method: req.method ?? "GET", url, signature }).then((d) => {
    if (d.kind === "pass") return next();
    if (d.kind === "respond") {
      res.writeHead(d.response.status, d.response.headers.flat());
      res.end(d.response.body);
      return;
    }
    serveNode(d.ticket, res, next);
  }, (e: unknown) => next(e));
}

function serveNode(t: Ticket, res: ServerResponse, next: (err?: unknown) => void): void {
  intercept(t, res);
  try {
    next();
  } catch (e) {
    if (!res.headersSent) {
      res.statusCode = 500;
      res.setHeader("content-type", "application/json; charset=utf-8");
      res.end(JSON.stringify({ error: { code: "INTERNAL_ERROR", message: "internal error", details: {} } }));
    } else {
      res.destroy();
    }
    void e;
  }
}

/**
 * Adds PAYMENT-RESPONSE when the headers go out (for the status they carry), keeps a copy of the body as
 * it is written (up to maxReplayBytes), and reports the response to the ticket when it is finished or cut off.
 */
function intercept(t: Ticket, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let kept = true;
  const keep = (chunk: unknown, encoding: unknown): void => {
    if (!kept || chunk === undefined || chunk === null || typeof chunk === "function") return;
    const b = typeof chunk === "string" ? Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8")
      : chunk instanceof Uint8Array ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : undefined;
    if (!b) return;
    size += b.length;
    if (size > t.maxReplayBytes) {
      kept = false;
      chunks.length = 0;
    } else {
      chunks.push(Buffer.from(b)); // a copy: the caller may reuse its buffer
    }
  };
  const writeHead = res.writeHead;
  const write = res.write;
  const end = res.end;
  // The status is known when the headers go out: PAYMENT-RESPONSE says "refunded" for a 5xx.
  res.writeHead = function (this: ServerResponse, statusCode: number, ...rest: unknown[]) {
    if (!this.headersSent) this.setHeader(PAYMENT_RESPONSE_HEADER, t.paymentResponseFor(statusCode));
    return (writeHead as (...a: unknown[]) => ServerResponse).call(this, statusCode, ...rest);
  } as ServerResponse["writeHead"];
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    keep(chunk, rest[0]);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse["write"];
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    keep(chunk, rest[0]);
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse["end"];
  const headerPairs = (): Array<[string, string]> => Object.entries(res.getHeaders()).flatMap(([k, v]) =>
    v === undefined ? [] : Array.isArray(v) ? v.map((x): [string, string] => [k, String(x)]) : [[k, String(v)] as [string, string]]);
  res.once("finish", () => t.finish({ status: res.statusCode, headers: headerPairs(), body: kept ? Buffer.concat(chunks) : undefined }));
  // Cut off (the client went away): served all the same, not kept, not refunded.
  res.once("close", () => t.finish({ status: res.statusCode, headers: headerPairs(), body: undefined }));
}
