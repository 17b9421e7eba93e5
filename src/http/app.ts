// createApp(pay, options): the HTTP API as a Hono app on Web-standard Request/Response (testable with
// app.request(), served by serve.ts). Middleware in order: request id and common headers → access log (with a
// logger) → body limit →
// failed-credentials limit → auth → rate limit → idempotency → routes; one error handler makes every
// failure the one error shape.
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import type { Context } from "hono";
import type { AgentPay } from "../index.ts";
import { CONSOLE_PATH, createConsole } from "../console/index.ts";
import type { Env } from "./env.ts";
import { apiError, errorResponse } from "./errors.ts";
import { accessLog } from "./middleware/log.ts";
import { idempotency } from "./middleware/idempotency.ts";
import { authFailureLimit, rateLimit } from "./middleware/rate-limit.ts";
import { requestId } from "./middleware/request-id.ts";
import type { AppOptions } from "./options.ts";
export type { AppOptions };
import { authenticate } from "./principal.ts";
import { referencePage } from "./reference.ts";
import { StaticMemoRouter } from "./router.ts";
import { API_VERSION } from "./response.ts";
import type { Deps } from "./routes/define.ts";
import { agentRoutes } from "./routes/agents.ts";
import { approvalRoutes } from "./routes/approvals.ts";
import { eventRoutes } from "./routes/events.ts";
import { keyRoutes } from "./routes/keys.ts";
import { merchantRoutes } from "./routes/merchants.ts";
import { operatorRoutes } from "./routes/operator.ts";
import { paymentRoutes } from "./routes/payments.ts";
import { systemRoutes } from "./routes/system.ts";
import { walletRoutes } from "./routes/wallets.ts";
import { x402Routes } from "./routes/x402.ts";
import { acpRoutes } from "./routes/acp.ts";
import { ap2Routes } from "./routes/ap2.ts";


export type App = OpenAPIHono<Env>;

export { API_VERSION };

export function createApp(pay: AgentPay, options: AppOptions = {}): App {
  const maxWaitS = Math.min(60, Math.max(0, options.maxWaitS ?? 30));
  const app = new OpenAPIHono<Env>({
    router: new StaticMemoRouter(),
    // A body, query or path that does not match its schema: 400 INVALID_INPUT naming the fields.
    defaultHook: (result) => {
      if (result.success) return;
      const issues = result.error.issues.slice(0, 20).map((i) => ({ path: i.path.join("."), message: i.message }));
      throw apiError("INVALID_INPUT", `invalid ${result.target}: ${issues[0]?.path || "body"}: ${issues[0]?.message ?? "invalid"}`, {
        field: issues[0]?.path, issues, ...(result.target ? { in: result.target } : {}),
      });
    },
  });
  const deps: Deps = { pay, maxWaitS };

  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      const status = err.status;
      const code = status === 413 ? "PAYLOAD_TOO_LARGE" : status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : status === 408 ? "REQUEST_TIMEOUT" : "INVALID_INPUT";
      return errorResponse(c, apiError(code, status === 400 ? "malformed JSON body" : err.message || "bad request"));
    }
    const res = errorResponse(c, err);
    if (res.status >= 500) options.logger?.error({ requestId: c.get("requestId"), err }, "request failed");
    return res;
  });
  app.notFound((c) => errorResponse(c, apiError("NOT_FOUND", "no such route", { method: c.req.method, path: new URL(c.req.url).pathname })));

  app.use("*", requestId); // also sets the headers every response carries (response.ts)
  // Without a logger there is nothing to log: no middleware layer on every request for it.
  if (options.logger) app.use("*", accessLog(options.logger));
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    app.use("*", cors({ origin: [...options.corsOrigins], allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key"], exposeHeaders: ["Request-Id", "Retry-After"] }));
  }
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const tooLarge = (c: Context<Env>) => errorResponse(c, apiError("PAYLOAD_TOO_LARGE", "the body is larger than the server accepts", { maxBytes: maxBodyBytes }));
  const streamedBodyLimit = bodyLimit({ maxSize: maxBodyBytes, onError: tooLarge });
  app.use("*", async (c, next) => {
    // Decided from the headers where they decide it (node's parser never reads past Content-Length, and
    // a request with neither header has no body), so most requests' bodies are not wrapped in a web
    // stream just to be measured; chunked bodies are counted as they arrive.
    if (c.req.header("transfer-encoding") === undefined) {
      const length = c.req.header("content-length");
      if (length === undefined) return next();
      if (/^\d{1,15}$/.test(length)) return Number(length) > maxBodyBytes ? tooLarge(c) : next();
    }
    return streamedBodyLimit(c, next);
  });
  app.use("/v1/*", async (c, next) => {
    const type = c.req.header("content-type");
    if ((c.req.method === "POST" || c.req.method === "PUT") && type !== undefined && !/^application\/json\b/i.test(type)) {
      throw apiError("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
    }
    // Without a JSON body the validator sees {}: for a PUT, that would replace the resource with an empty one.
    if (c.req.method === "PUT" && type === undefined) throw apiError("INVALID_INPUT", "a PUT replaces the resource: send it as an application/json body", { field: "body" });
    await next();
  });
  if (options.rateLimit !== false) app.use("/v1/*", authFailureLimit(options.rateLimit || {}));
  app.use("/v1/*", authenticate(pay, options.operatorKeys ?? []));
  if (options.rateLimit !== false) app.use("/v1/*", rateLimit(options.rateLimit || {}));
  app.use("/v1/*", idempotency(options.idempotency));

  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http", scheme: "bearer", description: "An API key: the operator's, a person's (one owner's wallets) or a merchant's (its own payments).",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "agentSignature", {
    type: "http", scheme: "Agent",
    description: "`Authorization: Agent <JWS>`: a compact JWS signed by the agent's registered key over { action: \"request\", method, path, bodySha256 } (docs/AGENTS.md). Writes carry a signed intent in the body instead.",
  });

  systemRoutes(app, deps, options);
  walletRoutes(app, deps);
  agentRoutes(app, deps);
  merchantRoutes(app, deps);
  paymentRoutes(app, deps);
  approvalRoutes(app, deps);
  eventRoutes(app, deps);
  keyRoutes(app, deps);
  operatorRoutes(app, deps);
  x402Routes(app, deps, options);
  acpRoutes(app, deps, options);
  ap2Routes(app, deps);

  // Built once, at the first request (every route is registered by then): a build takes tenths of a
  // second, and /openapi.json and /docs answer anyone, whatever Host they send. Only `servers` depends on it.
  let built: { json: string; html: string } | undefined;
  const document = () => {
    if (!built) {
      const doc = app.getOpenAPI31Document({
        openapi: "3.1.0",
        info: {
          title: "agentpay", version: API_VERSION,
          description: "Let AI agents pay safely. Amounts are { value: decimal string, currency }; times RFC 3339; errors { error: { code, message, details, requestId } } (docs/ERRORS.md); lists take limit and starting_after.",
        },
      });
      built = { json: JSON.stringify(doc), html: referencePage(doc as unknown as Record<string, unknown>) };
    }
    return built;
  };
  app.get("/openapi.json", (c) => {
    const servers = JSON.stringify([{ url: options.publicUrl ?? new URL(c.req.url).origin }]);
    return c.body(`{"servers":${servers},${document().json.slice(1)}`, 200, { "content-type": "application/json" });
  });
  app.get("/docs", (c) => c.html(document().html));
  if (options.console !== false) app.route(CONSOLE_PATH, createConsole(pay, { operatorKeys: options.operatorKeys ?? [], ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}), ...options.console }).app);
  return app;
}
