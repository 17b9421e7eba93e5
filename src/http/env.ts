/** Who is calling (see principal.ts for how each proves it). */
export type Principal =
  | { readonly kind: "operator"; readonly id: string }
  | { readonly kind: "person"; readonly id: string; readonly ownerId: string }
  | { readonly kind: "merchant"; readonly id: string; readonly merchantId: string }
  | { readonly kind: "agent"; readonly id: string; readonly agentId: string; readonly kid?: string };

export type PrincipalKind = Principal["kind"];

/** What middleware leaves on the request's context for the routes. */
export interface Env {
  Variables: {
    requestId: string;
    principal: Principal | undefined;
    idempotencyKey: string | undefined;
    /** The JSON text `send()` answered with (read by the idempotency middleware). */
    responseBody: string | undefined;
    /** The response `jsonResponse()` built and its plain headers (see response.ts). */
    sent: { res: Response; headers: Record<string, string> } | undefined;
  };
}
