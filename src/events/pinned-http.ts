// A POST to a webhook URL over a connection to an address chosen beforehand ("pinned"): the host
// name is resolved and checked once, and the socket goes to one of those checked addresses, so a
// DNS answer that changes between the check and the connection (DNS rebinding) cannot redirect it.
// The request still says the URL's name: the Host header, and for HTTPS the TLS server name (SNI)
// and the name the certificate must match.
import { request as httpRequest } from "node:http";
import type { ClientRequest, IncomingMessage, RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { rootCertificates } from "node:tls";
import { bareHost } from "./network.ts";
import type { ResolvedAddress } from "./network.ts";

/** A response body is read (to end the exchange cleanly) up to this size, then the socket is closed. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** Checked addresses tried in turn when one refuses the connection (nothing has been sent then). */
export const MAX_ADDRESSES_TRIED = 4;
const NEXT_ADDRESS_ON = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "EAFNOSUPPORT"]);

export interface PinnedPost {
  url: URL;
  /** Checked addresses of `url`'s host, in the resolver's order. */
  addresses: readonly ResolvedAddress[];
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

export interface PinnedResponse {
  statusCode: number;
  /** The address the request went to. */
  address: string;
}

/** An error from the connection, with the address it happened on. */
export class PinnedRequestError extends Error {
  override name = "PinnedRequestError";
  readonly code: string | undefined;
  readonly address: string;
  constructor(cause: unknown, address: string) {
    super("request failed", { cause });
    const code = (cause as { code?: unknown } | null)?.code;
    this.code = typeof code === "string" ? code : undefined;
    this.address = address;
  }
}

export class PinnedHttp {
  readonly #ca: string[] | undefined;

  /** `ca`: extra trusted certificates (PEM), added to Node's own roots. */
  constructor(ca?: readonly string[]) {
    this.#ca = ca && ca.length > 0 ? [...rootCertificates, ...ca] : undefined;
  }

  /** POSTs to the first checked address that accepts the connection; never follows a redirect. */
  async post(p: PinnedPost): Promise<PinnedResponse> {
    let last: PinnedRequestError | undefined;
    for (const a of p.addresses.slice(0, MAX_ADDRESSES_TRIED)) {
      try {
        return { statusCode: await this.#once(p, a), address: a.address };
      } catch (e) {
        last = new PinnedRequestError(e, a.address);
        if (p.signal.aborted || last.code === undefined || !NEXT_ADDRESS_ON.has(last.code)) throw last;
      }
    }
    throw last ?? new PinnedRequestError(undefined, "");
  }

  #once(p: PinnedPost, a: ResolvedAddress): Promise<number> {
    const https = p.url.protocol === "https:";
    const name = bareHost(p.url.hostname);
    const options: RequestOptions & { servername?: string; ca?: string[] } = {
      // The pinned address: Node does not resolve an IP address again.
      host: a.address,
      family: a.family,
      port: p.url.port !== "" ? Number(p.url.port) : https ? 443 : 80,
      path: `${p.url.pathname}${p.url.search}`,
      method: "POST",
      headers: { ...p.headers, Host: p.url.host, "Content-Length": String(Buffer.byteLength(p.body)) },
      // One connection per request: nothing pooled outlives the delivery that checked its address.
      agent: false,
      signal: p.signal,
      // SNI and the certificate check use the URL's name (an IP literal is checked as an IP: no SNI then).
      ...(https && isIP(name) === 0 ? { servername: name } : {}),
      ...(https && this.#ca ? { ca: this.#ca } : {}),
    };
    return new Promise<number>((resolve, reject) => {
      let req: ClientRequest;
      try {
        req = (https ? httpsRequest : httpRequest)(options, (res: IncomingMessage) => {
          // The status is the answer. The body is drained in the background (to end the exchange
          // cleanly) or cut past MAX_RESPONSE_BYTES; the attempt's signal still bounds it in time.
          let seen = 0;
          res.on("data", (chunk: Buffer) => {
            seen += chunk.length;
            if (seen > MAX_RESPONSE_BYTES) res.destroy();
          });
          res.on("error", () => {});
          resolve(res.statusCode ?? 0);
        });
      } catch (e) {
        reject(e);
        return;
      }
      req.on("error", reject);
      req.end(p.body);
    });
  }
}
