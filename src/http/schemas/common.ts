// Shapes shared by every resource: money, ids, times, errors, lists. Zod is the single source of the
// validation, the TypeScript types and the OpenAPI document.
import { z } from "@hono/zod-openapi";

/** An amount on the wire: a decimal string in the currency's units, never a JSON number. */
export const Money = z.object({
  value: z.string().max(64).openapi({ example: "12.50", description: "Decimal string with at most the currency's decimals." }),
  currency: z.string().max(64).openapi({ example: "USD", description: "ISO 4217 code (or a registered on-chain asset)." }),
}).openapi("Money");

/** The same shape, as the library writes amounts of a currency it does not know the decimals of. */
export const MoneyOut = z.union([
  Money,
  z.object({ minor: z.string().regex(/^-?\d+$/), currency: z.string() }).openapi("MinorUnits"),
]);

export const id = (prefix: string, what: string) =>
  z.string().regex(new RegExp(`^${prefix}_[0-9a-z]{8,64}$`)).openapi({ example: `${prefix}_3k9d8f7g6h5j4k3m2n1p0q9r8s`, description: `${what} id` });

export const Timestamp = z.string().openapi({ example: "2026-12-04T10:00:00.000Z", description: "RFC 3339 (UTC)." });

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().openapi({ example: "PAYMENT_DECLINED", description: "Stable code: docs/ERRORS.md lists them all." }),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
    requestId: z.string(),
  }),
}).openapi("Error");

/** Query of every list: cursor pagination. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional().openapi({ description: "Items per page, 1-100 (default 20)." }),
  starting_after: z.string().max(128).optional().openapi({ description: "Cursor: the id of the last item of the previous page." }),
});

export function list<T extends z.ZodTypeAny>(item: T, name: string) {
  return z.object({
    object: z.literal("list"),
    data: z.array(item),
    hasMore: z.boolean(),
    nextCursor: z.string().optional().openapi({ description: "Pass as starting_after for the next page." }),
  }).openapi(name);
}

/** A signed intent (compact JWS) in a body: what agents send for every write. */
export const SignedIntent = z.object({
  intent: z.string().min(1).max(16_384).openapi({ description: "A compact JWS signed with the agent's key (docs/AGENTS.md)." }),
}).openapi("SignedIntent");

export const Reason = z.object({ code: z.string(), message: z.string() });
