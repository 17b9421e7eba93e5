import type { Principal } from "./principal.ts";

/** What middleware leaves on the request's context for the routes. */
export interface Env {
  Variables: {
    requestId: string;
    principal: Principal | undefined;
    idempotencyKey: string | undefined;
  };
}
