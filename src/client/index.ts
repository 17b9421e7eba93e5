// src/client: agentpay over HTTP (the `agentpay/client` entry point), for code that does not run the
// engine itself: the agent's side (its key stays here), the merchant's (offline verification from the
// cached JWKS) and the person's or operator's. Requests and responses are typed by the OpenAPI document
// (./openapi.ts, generated); results are the library's own records. Loads no server framework, MCP SDK or viem.
export { AgentPayClient } from "./agent.ts";
export type { AgentPayClientOptions, AgentPayment, RequestRefundInput } from "./agent.ts";
export { MerchantClient } from "./merchant.ts";
export type { MerchantClientOptions } from "./merchant.ts";
export { AdminClient } from "./admin.ts";
export type { AdminClientOptions, ApprovalOutcome, CreatedKey, MerchantRegistration, ShownApiKey } from "./admin.ts";
export { AgentPayHttpError } from "./transport.ts";
export type { ClientOptions } from "./transport.ts";
export { JwksCache, cacheLifetimes } from "./jwks.ts";
export type { FetchedJwks, JwksCacheOptions } from "./jwks.ts";
export { fromWire } from "./wire.ts";
export type { Page, PageQuery } from "./wire.ts";
export type { paths as ApiPaths, components as ApiComponents } from "./openapi.ts";
