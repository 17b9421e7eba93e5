import type { Logger } from "pino";
import type { ConsoleOptions } from "../console/index.ts";
import type { IdempotencyOptions } from "./middleware/idempotency.ts";
import type { RateLimitOptions } from "./middleware/rate-limit.ts";

export interface AppOptions {
  /**
   * Operator secrets accepted as `Authorization: Bearer <secret>` besides stored operator keys (e.g. from
   * AGENTPAY_OPERATOR_KEY). Compared by hash in constant time.
   */
  operatorKeys?: readonly string[];
  /** Structured JSON logs (pino); default none. Secrets, tokens and bodies are never logged. */
  logger?: Logger;
  /** Largest request body, bytes. Default 64 KiB. */
  maxBodyBytes?: number;
  rateLimit?: RateLimitOptions | false;
  idempotency?: IdempotencyOptions;
  /** Longest long-poll (`?wait=`), seconds. Default 30, at most 60. */
  maxWaitS?: number;
  /** CORS origins allowed; default none (CORS off). */
  corsOrigins?: readonly string[];
  /** Readiness beyond "the engine is open" (e.g. the PostgreSQL leader check). */
  ready?: () => boolean;
  /** The public base URL, for the OpenAPI document's `servers` (and the console's same-origin check and Secure cookies). */
  publicUrl?: string;
  /** The person's console under /console (sessions, cookies, live feed); `false` leaves it out. Default on. */
  console?: ConsoleOptions | false;
}
