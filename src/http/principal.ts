// Who is calling. Operators, persons and merchants send an API key (`Authorization: Bearer apk_…`);
// agents sign each request with their own key (`Authorization: Agent <JWS>`, see docs/AGENTS.md), or
// send a signed intent as the body of a write. No bearer secret ever stands for an agent.
import type { Env } from "./env.ts";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import type { AgentPay } from "../index.ts";
import { apiError } from "./errors.ts";

export type { Principal, PrincipalKind } from "./env.ts";
import type { Principal, PrincipalKind } from "./env.ts";

const BEARER_RE = /^Bearer ([A-Za-z0-9_-]{8,200})$/;
const AGENT_RE = /^Agent ([A-Za-z0-9_.-]{16,16384})$/;

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/**
 * Resolves the caller (if any credentials are sent) and sets `principal`. Bad credentials are a 401
 * at once; no credentials leave the principal unset, for the routes that need none.
 */
export function authenticate(pay: AgentPay, operatorSecrets: readonly string[]): MiddlewareHandler<Env> {
  const operatorDigests = operatorSecrets.map(digest);
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header !== undefined) c.set("principal", await resolve(c, pay, header, operatorDigests));
    await next();
  };
}

async function resolve(c: Context<Env>, pay: AgentPay, header: string, operatorDigests: Buffer[]): Promise<Principal> {
  const bearer = BEARER_RE.exec(header);
  if (bearer) {
    const secret = bearer[1]!;
    const d = digest(secret);
    if (operatorDigests.some((o) => timingSafeEqual(o, d))) return { kind: "operator", id: "env" };
    const p = pay.apiKeys.authenticate(secret);
    if (!p) throw apiError("UNAUTHENTICATED", "unknown, revoked or expired API key");
    if (p.kind === "person") return { kind: "person", id: p.keyId, ownerId: p.ownerId };
    if (p.kind === "merchant") return { kind: "merchant", id: p.keyId, merchantId: p.merchantId };
    return { kind: "operator", id: p.keyId };
  }
  const agent = AGENT_RE.exec(header);
  if (agent) {
    const url = new URL(c.req.url);
    // As text (UTF-8), the form the JSON validator reads next; a GET or HEAD has no body to read.
    const body = c.req.method === "GET" || c.req.method === "HEAD" ? "" : await c.req.text();
    const bodySha256 = createHash("sha256").update(body).digest("base64url");
    const { agentId, kid } = await pay.agents.authenticateRequest(agent[1]!, { method: c.req.method, path: `${url.pathname}${url.search}`, bodySha256 });
    return { kind: "agent", id: agentId, agentId, kid };
  }
  throw apiError("UNAUTHENTICATED", "Authorization must be `Bearer <api key>` or `Agent <signed request>`");
}

/**
 * Whether the credentials a caller was authenticated with still hold (for what outlives one request, like
 * an event stream): the API key neither revoked nor expired; the agent enabled and its key still valid.
 */
export function stillValid(pay: AgentPay, p: Principal): boolean {
  const nowMs = pay.clock.nowMs();
  try {
    if (p.kind === "agent") {
      const a = pay.agents.get(p.agentId);
      const k = p.kid === undefined ? undefined : a.keys.find((x) => x.kid === p.kid);
      return a.status === "active" && (p.kid === undefined || (k !== undefined && k.status !== "revoked" && (k.notAfterMs === undefined || nowMs < k.notAfterMs)));
    }
    if (p.kind === "operator" && p.id === "env") return true;
    const k = pay.apiKeys.get(p.id);
    return k.revokedAtMs === undefined && (k.expiresAtMs === undefined || nowMs < k.expiresAtMs);
  } catch {
    return false;
  }
}

/** The party behind the credentials: all of a person's (or a merchant's) keys are one party; each operator key its own. */
export function partyOf(p: Principal): string {
  return p.kind === "person" ? `person:${p.ownerId}` : p.kind === "merchant" ? `merchant:${p.merchantId}` : `${p.kind}:${p.id}`;
}

/** The caller, required to be one of `kinds` (401 without credentials, 403 for another kind). */
export function need<K extends PrincipalKind>(c: Context<Env>, ...kinds: K[]): Extract<Principal, { kind: K }> {
  const p = c.get("principal");
  if (!p) throw apiError("UNAUTHENTICATED", "credentials required");
  if (!kinds.includes(p.kind as K)) throw apiError("FORBIDDEN", `this route is for ${kinds.join(", ")}`, { principal: p.kind });
  return p as Extract<Principal, { kind: K }>;
}

export function principalOf(c: Context<Env>): Principal | undefined {
  return c.get("principal");
}
