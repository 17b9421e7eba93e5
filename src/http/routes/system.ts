// Health, readiness and the token keys (JWKS) merchants verify with offline.
import type { Env } from "../env.ts";
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppOptions } from "../options.ts";
import type { Deps } from "./define.ts";

const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).openapi("Jwks");
const Health = z.object({
  status: z.enum(["ok", "not_ready"]),
  role: z.enum(["leader", "standby"]).optional().openapi({ description: "readyz: whether this node takes writes (on PostgreSQL one node leads, the others are standbys)" }),
}).openapi("Health");

export function systemRoutes(app: OpenAPIHono<Env>, { pay }: Deps, options: AppOptions): void {
  app.openapi(createRoute({
    method: "get", path: "/.well-known/jwks.json", tags: ["tokens"], summary: "The issuer's public keys (verify tokens offline)",
    responses: { 200: { description: "JWKS; keys rotate, retired ones stay until their last token expired", content: { "application/json": { schema: Jwks } } } },
  }), (c) => {
    // Short cache: a rotation reaches verifiers within 5 minutes; an unknown kid should make them refetch.
    c.header("Cache-Control", "public, max-age=300, stale-while-revalidate=60");
    return c.json(pay.tokens.jwks() as never, 200);
  });
  app.openapi(createRoute({
    method: "get", path: "/healthz", tags: ["system"], summary: "Liveness",
    responses: { 200: { description: "The process is up", content: { "application/json": { schema: Health } } } },
  }), (c) => c.json({ status: "ok" as const }, 200));
  app.openapi(createRoute({
    method: "get", path: "/readyz", tags: ["system"], summary: "Readiness: takes writes",
    responses: {
      200: { description: "Ready", content: { "application/json": { schema: Health } } },
      503: { description: "Not ready (starting, shutting down, or a standby)", content: { "application/json": { schema: Health } } },
    },
  }), (c) => {
    // A standby serves reads but refuses writes: not ready, so a load balancer sends traffic to the leader.
    const role = pay.role;
    const ready = options.ready ? options.ready() : role === "leader" && !pay.engine.failed;
    return ready ? c.json({ status: "ok" as const, role }, 200) : c.json({ status: "not_ready" as const, role }, 503);
  });
}
