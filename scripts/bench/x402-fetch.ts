// The HTTP client bench:402's agents use, for the paid AND the free requests: a `fetch` over undici's
// Agent (keep-alive connection pools per origin, its llhttp parser, real sockets), answering a WHATWG
// Response with the whole body read. It is what a user could pass to fetchWithPayment instead of
// globalThis.fetch when requests are small and many: it skips fetch's per-request spec machinery (a
// Request object, web streams for the body, the fetch controller), which costs more CPU than the
// request itself on loopback. What it leaves out: redirects are not followed (as redirect: "manual"),
// no cookies, no content decoding, and a streamed request body is refused.
import { Agent } from "undici";
import type { Dispatcher } from "undici";

export function keepAliveFetch(agent: Dispatcher = new Agent({ keepAliveTimeout: 30_000 })): typeof fetch {
  const send = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    let url: URL;
    let method = init?.method;
    let headers: RequestInit["headers"] = init?.headers;
    let body: string | Uint8Array | undefined;
    if (input instanceof Request) {
      url = new URL(input.url);
      method ??= input.method;
      headers ??= input.headers;
      if (init?.body === undefined && input.body !== null) body = new Uint8Array(await input.arrayBuffer());
    } else {
      url = new URL(input);
    }
    const b = init?.body;
    if (b !== undefined && b !== null) {
      if (typeof b === "string") body = b;
      else if (b instanceof Uint8Array) body = b;
      else if (b instanceof ArrayBuffer) body = new Uint8Array(b);
      else if (b instanceof URLSearchParams) {
        body = b.toString();
        const h = new Headers(headers);
        if (!h.has("content-type")) h.set("content-type", "application/x-www-form-urlencoded;charset=UTF-8");
        headers = h;
      } else throw new TypeError("keepAliveFetch sends string, bytes or form bodies only");
    }
    const flat: Record<string, string> = {};
    if (headers !== undefined) new Headers(headers).forEach((v, k) => { flat[k] = v; });
    const res = await agent.request({
      origin: url.origin, path: `${url.pathname}${url.search}`, method: (method ?? "GET").toUpperCase() as Dispatcher.HttpMethod,
      headers: flat, ...(body !== undefined ? { body } : {}), ...(init?.signal ? { signal: init.signal } : {}),
    });
    const bytes = await res.body.arrayBuffer();
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (Array.isArray(v)) for (const x of v) out.append(k, x);
      else if (v !== undefined) out.append(k, v);
    }
    const empty = res.statusCode === 204 || res.statusCode === 304 || method === "HEAD";
    return new Response(empty ? null : bytes, { status: res.statusCode, headers: out });
  };
  return send as typeof fetch;
}
