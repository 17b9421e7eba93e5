// The v2 HTTP transport's encoding: a header value is standard base64 (RFC 4648 §4, as x402's
// safeBase64Encode writes it) of a UTF-8 JSON object. Decoding refuses anything else, bounded:
// too long, not base64, not UTF-8, not JSON, not an object, or not the schema's shape.
import type { z } from "zod";
import { AgentPayError } from "../core/index.ts";
import { PaymentPayloadSchema, PaymentRequiredSchema, SettleResponseSchema } from "./schemas.ts";
import type { PaymentPayload, PaymentRequired, SettleResponse } from "./types.ts";

/** Longest PAYMENT-SIGNATURE accepted (characters). A token payload is ~2 KB, a voucher one ~3 KB. */
export const MAX_SIGNATURE_HEADER_CHARS = 8 * 1024;
/** Longest PAYMENT-REQUIRED / PAYMENT-RESPONSE a client reads. */
export const MAX_SERVER_HEADER_CHARS = 32 * 1024;

// The alphabet x402's Base64EncodedRegex allows, with the padding it allows.
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** base64(JSON.stringify(value)), as x402 writes its headers. */
export function encodeHeader(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64");
}

function invalid(what: string, message: string, details: Record<string, unknown> = {}): never {
  throw new AgentPayError("X402_HEADER_INVALID", `${what}: ${message}`, { header: what, ...details });
}

/** The JSON object a header carries, or X402_HEADER_INVALID. */
export function decodeHeaderJson(header: unknown, what: string, maxChars: number): Record<string, unknown> {
  if (typeof header !== "string" || header.length === 0) invalid(what, "missing or empty");
  if (header.length > maxChars) invalid(what, `longer than ${maxChars} characters`, { maxChars });
  // One value only: a repeated header arrives joined with ", " (not base64 either).
  if (header.length % 4 === 1 || !BASE64_RE.test(header)) invalid(what, "not base64");
  let json: string;
  try {
    json = utf8.decode(Buffer.from(header, "base64"));
  } catch {
    invalid(what, "not UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    invalid(what, "not JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) invalid(what, "not a JSON object");
  return value as Record<string, unknown>;
}

function shaped<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    invalid(what, `not an x402 v2 object: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`, {
      field: issue?.path.join(".") ?? "",
    });
  }
  return r.data;
}

export function decodePaymentSignature(header: unknown): PaymentPayload {
  return shaped(PaymentPayloadSchema, decodeHeaderJson(header, "PAYMENT-SIGNATURE", MAX_SIGNATURE_HEADER_CHARS), "PAYMENT-SIGNATURE");
}

export function decodePaymentRequired(header: unknown): PaymentRequired {
  return shaped(PaymentRequiredSchema, decodeHeaderJson(header, "PAYMENT-REQUIRED", MAX_SERVER_HEADER_CHARS), "PAYMENT-REQUIRED");
}

export function decodePaymentResponse(header: unknown): SettleResponse {
  return shaped(SettleResponseSchema, decodeHeaderJson(header, "PAYMENT-RESPONSE", MAX_SERVER_HEADER_CHARS), "PAYMENT-RESPONSE");
}

export function encodePaymentSignature(payload: PaymentPayload): string {
  return encodeHeader(payload);
}

export function encodePaymentRequired(required: PaymentRequired): string {
  return encodeHeader(required);
}

export function encodePaymentResponse(response: SettleResponse): string {
  return encodeHeader(response);
}
