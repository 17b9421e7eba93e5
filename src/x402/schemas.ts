// zod schemas of the x402 v2 objects, as strict as the spec allows and bounded everywhere: they validate
// the PAYMENT-SIGNATURE header, the facilitator routes' bodies (and document them in the OpenAPI
// document, through `.meta({ id })`), and what fetchWithPayment reads from a server it does not trust.
// Field by field they follow @x402/core's own V2 schemas (schemas/index.ts); bounds are agentpay's.
import { z } from "zod";
import type { Network, PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from "./types.ts";

const text = (max: number) => z.string().min(1).max(max);
/** CAIP-2 as x402 checks it (a colon, at least 3 characters), bounded. */
export const NetworkSchema = z.string().min(3).max(160).regex(/^[^:\s]+:[^\s]+$/, "a CAIP-2 network id (namespace:reference)")
  .transform((s) => s as Network)
  .meta({ description: "CAIP-2 network id, e.g. `eip155:8453` or agentpay's ledger rail `agentpay:<issuer>`." });
/** A JSON object of anything (scheme-specific). Absent or null reads as {}. */
const AnyObject = z.record(z.string(), z.unknown());

export const ResourceInfoSchema = z.object({
  url: text(4096),
  description: z.string().max(1024).optional(),
  mimeType: z.string().max(255).optional(),
}).meta({ id: "X402ResourceInfo", description: "The resource a payment is for." });

export const PaymentRequirementsSchema = z.object({
  scheme: text(64),
  network: NetworkSchema,
  amount: z.string().regex(/^(0|[1-9]\d{0,39})$/, "atomic units: a decimal integer string"),
  asset: text(128),
  payTo: text(256),
  maxTimeoutSeconds: z.number().int().positive().max(31_536_000),
  extra: AnyObject.nullish().transform((e) => e ?? {}),
}).meta({ id: "X402PaymentRequirements", description: "One way to pay (an offer): x402 v2 PaymentRequirements." }) as unknown as z.ZodType<PaymentRequirements>;

export const PaymentRequiredSchema = z.object({
  x402Version: z.literal(2),
  error: z.string().max(1024).optional(),
  resource: ResourceInfoSchema,
  accepts: z.array(PaymentRequirementsSchema).min(1).max(32),
  extensions: AnyObject.nullish().transform((e) => e ?? undefined),
}).meta({ id: "X402PaymentRequired", description: "The PAYMENT-REQUIRED header's object (x402 v2)." }) as unknown as z.ZodType<PaymentRequired>;

export const PaymentPayloadSchema = z.object({
  x402Version: z.literal(2),
  resource: ResourceInfoSchema.optional(),
  accepted: PaymentRequirementsSchema,
  payload: AnyObject,
  extensions: AnyObject.nullish().transform((e) => e ?? undefined),
}).meta({ id: "X402PaymentPayload", description: "The PAYMENT-SIGNATURE header's object (x402 v2)." }) as unknown as z.ZodType<PaymentPayload>;

export const SettleResponseSchema = z.object({
  success: z.boolean(),
  errorReason: z.string().max(128).optional(),
  errorMessage: z.string().max(1024).optional(),
  payer: z.string().max(256).optional(),
  transaction: z.string().max(256),
  network: NetworkSchema,
  amount: z.string().regex(/^\d{1,40}$/).optional(),
  extensions: AnyObject.optional(),
}).meta({ id: "X402SettleResponse", description: "x402 v2 SettleResponse: the facilitator's /settle answer and the PAYMENT-RESPONSE header's object." }) as unknown as z.ZodType<SettleResponse>;

export const VerifyResponseSchema = z.object({
  isValid: z.boolean(),
  invalidReason: z.string().max(128).optional(),
  invalidMessage: z.string().max(1024).optional(),
  payer: z.string().max(256).optional(),
  extensions: AnyObject.optional(),
}).meta({ id: "X402VerifyResponse", description: "x402 v2 VerifyResponse." });

export const FacilitatorRequestSchema = z.object({
  x402Version: z.literal(2),
  paymentPayload: PaymentPayloadSchema,
  paymentRequirements: PaymentRequirementsSchema,
}).meta({ id: "X402FacilitatorRequest", description: "x402 v2 VerifyRequest / SettleRequest." });

export const SupportedResponseSchema = z.object({
  kinds: z.array(z.object({
    x402Version: z.number().int(),
    scheme: z.string(),
    network: z.string(),
    extra: AnyObject.optional(),
  }).meta({ id: "X402SupportedKind" })),
  extensions: z.array(z.string()),
  signers: z.record(z.string(), z.array(z.string())),
}).meta({ id: "X402SupportedResponse", description: "x402 v2 SupportedResponse." });

/** The agentpay-token scheme's payload: only the token. */
export const TokenPayloadSchema = z.strictObject({ token: z.string().min(16).max(8192) });

const hex = (bytes: number) => z.string().regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`));
const uint = z.string().regex(/^(0|[1-9]\d{0,77})$/);
/** The agentpay-voucher scheme's payload: the voucher (uint256 fields as decimal strings), its signature and digest, and its twin token. */
export const VoucherPayloadSchema = z.strictObject({
  token: z.string().min(16).max(8192),
  voucher: z.strictObject({
    owner: hex(20), agent: hex(20), merchant: hex(20), token: hex(20), cap: uint, deadline: uint, nonce: uint,
    ref: hex(32), callTarget: hex(20), callDataHash: hex(32),
  }),
  signature: z.string().regex(/^0x[0-9a-fA-F]{128,130}$/),
  digest: hex(32),
});
