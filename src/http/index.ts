// src/http: agentpay as a service (the `agentpay/http` entry point). createApp(pay) is a Hono app on
// Web-standard Request/Response; serve(pay) runs it on node:http with graceful shutdown.
export { createApp, API_VERSION } from "./app.ts";
export type { App, AppOptions } from "./app.ts";
export { serve } from "./serve.ts";
export type { RunningServer, ServeOptions } from "./serve.ts";
export type { Principal } from "./principal.ts";
export { httpStatusOf } from "./errors.ts";
