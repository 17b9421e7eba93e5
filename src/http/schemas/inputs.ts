// Request bodies. Unknown fields are refused (a typo must not silently drop a limit).
import { z } from "@hono/zod-openapi";
import { Money } from "./common.ts";

const Decimal = z.string().max(64).openapi({ example: "150.00" });
const Mcc = z.string().regex(/^\d{4}$/).openapi({ example: "4511" });
const AllowBlock = (item: z.ZodTypeAny) => z.strictObject({ allow: z.array(item).max(1000).optional(), block: z.array(item).max(1000).optional() });

export const PolicyInput = z.strictObject({
  perPayment: Decimal.optional(), daily: Decimal.optional(), weekly: Decimal.optional(), monthly: Decimal.optional(),
  rolling24h: Decimal.optional(),
  approvalAbove: Decimal.optional().openapi({ description: "Payments strictly above this amount ask the person." }),
  categories: AllowBlock(Mcc).optional(), merchants: AllowBlock(z.string().max(64)).optional(),
  activeHours: z.strictObject({
    from: z.string().max(5).openapi({ example: "08:00" }), to: z.string().max(5).openapi({ example: "22:00" }),
    days: z.array(z.enum(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])).max(7).optional(),
  }).optional(),
  expiresAt: z.union([z.string().max(64), z.number().int()]).optional(),
  maxPaymentsPerDay: z.number().int().min(1).max(1_000_000).optional(),
  notify: z.array(z.record(z.string(), z.unknown())).max(50).optional().openapi({ description: "Notification rules, e.g. { when: \"payment\" }." }),
}).openapi("PolicyInput");

export const CreateWallet = z.strictObject({
  ownerId: z.string().max(255).optional().openapi({ description: "The person (your user id). A person's key creates its own; the operator names it." }),
  currency: z.string().max(64).openapi({ example: "USD" }),
  timeZone: z.string().max(64).openapi({ example: "Europe/Paris", description: "IANA zone: calendar budgets start at its midnight." }),
}).openapi("CreateWallet");

export const MoneyMove = z.strictObject({ amount: Money }).openapi("MoneyMove");

export const CreateSubWallet = z.strictObject({
  name: z.string().max(64), budget: Money.optional().openapi({ description: "Moved from the wallet into the sub-wallet." }),
  policy: PolicyInput.optional(),
}).openapi("CreateSubWallet");

export const Freeze = z.strictObject({
  reason: z.string().max(500).optional(),
}).openapi("Freeze");

export const RegisterAgent = z.strictObject({
  name: z.string().max(100),
  ownerId: z.string().max(255).optional().openapi({ description: "Operator only: the person who manages the agent. A person's key registers agents it manages." }),
  publicKeyJwk: z.record(z.string(), z.string()).optional().openapi({ description: "The agent's public key (Ed25519 OKP or P-256 EC JWK). Omit to have the server generate a pair (the private key is returned once)." }),
  alg: z.enum(["EdDSA", "ES256"]).optional(),
}).openapi("RegisterAgent");

export const RotateAgentKey = z.strictObject({
  publicKeyJwk: z.record(z.string(), z.string()).optional(), alg: z.enum(["EdDSA", "ES256"]).optional(),
  grace: z.string().max(16).optional().openapi({ example: "1h", description: "How long the replaced key keeps verifying." }),
}).openapi("RotateAgentKey");

export const CreateGrant = z.strictObject({
  subWalletId: z.string().max(80), agentId: z.string().max(80),
  scopes: z.array(z.enum(["pay", "refund:request", "balance:read", "statement:read"])).min(1).max(4),
  mode: z.enum(["persistent", "session"]), expiresIn: z.string().max(16).optional().openapi({ example: "24h" }),
  maxUses: z.number().int().min(1).max(1_000_000).optional(),
}).openapi("CreateGrant");

export const RegisterMerchant = z.strictObject({
  name: z.string().max(100), category: z.string().max(4).openapi({ example: "4511", description: "MCC (ISO 18245)." }),
  callbackUrl: z.string().max(2048).optional(), callbackSecret: z.string().min(32).max(256).optional(),
  settlement: z.enum(["ledger", "chain"]).optional(), chainAddress: z.string().max(42).optional(),
  currencies: z.array(z.string().max(64)).max(50).optional(),
}).openapi("RegisterMerchant");

export const Redeem = z.strictObject({
  token: z.string().max(8192), amount: Money.openapi({ description: "Up to the token's cap; the rest of the hold is released." }),
}).openapi("Redeem");

export const VoidPayment = z.strictObject({
  intent: z.string().max(16_384).optional().openapi({ description: "Agents: a signed intent { action: \"void\", paymentId }. Merchants send no body." }),
}).openapi("VoidPayment");

export const CreateRefund = z.strictObject({ amount: Money, reason: z.string().max(500).optional() }).openapi("CreateRefund");

export const GrantRefundRequest = z.strictObject({
  amount: Money.optional().openapi({ description: "Default: the amount asked." }),
}).openapi("GrantRefundRequest");

export const DeclineRefundRequest = z.strictObject({ reason: z.string().max(500).optional() }).openapi("DeclineRefundRequest");

export const Resolve = z.strictObject({ note: z.string().max(500).optional() }).openapi("Resolve");

export const CreateApiKey = z.strictObject({ name: z.string().max(100).optional() }).openapi("CreateApiKey");

export const RotateApiKey = z.strictObject({ grace: z.string().max(16).optional().openapi({ example: "15m" }) }).openapi("RotateApiKey");
