// The wire form of each resource (what `pay.toWire` makes of the library's records): amounts as Money,
// `…AtMs` times as RFC 3339 `…At`, ids as the library's.
import { z } from "@hono/zod-openapi";
import { MoneyOut, Reason, Timestamp, id, list } from "./common.ts";

export const Wallet = z.object({
  id: id("wal", "wallet"), ownerId: z.string(), currency: z.string(),
  timeZone: z.string().openapi({ example: "Europe/Paris" }), accountId: z.string(), fundingAccountId: z.string(), createdAt: Timestamp,
}).openapi("Wallet");

/** The stored policy: amounts as Money, active hours in minutes since local midnight. */
export const Policy = z.looseObject({
  currency: z.string(), version: z.number().int().optional(),
  perPayment: MoneyOut.optional(), daily: MoneyOut.optional(), weekly: MoneyOut.optional(), monthly: MoneyOut.optional(),
  rolling24h: MoneyOut.optional(), approvalAbove: MoneyOut.optional(),
  categories: z.object({ allow: z.array(z.string()).optional(), block: z.array(z.string()).optional() }).optional(),
  merchants: z.object({ allow: z.array(z.string()).optional(), block: z.array(z.string()).optional() }).optional(),
  activeHours: z.object({ fromMinute: z.number(), toMinute: z.number(), days: z.array(z.string()).optional() }).optional(),
  expiresAt: Timestamp.optional(), maxPaymentsPerDay: z.number().int().optional(), notify: z.array(z.unknown()).optional(),
}).openapi("Policy");

export const SubWallet = z.object({
  id: id("sw", "sub-wallet"), walletId: id("wal", "wallet"), ownerId: z.string(), name: z.string(), currency: z.string(),
  timeZone: z.string(), accountId: z.string(), status: z.enum(["active", "frozen", "closed"]), policy: Policy, createdAt: Timestamp,
}).openapi("SubWallet");

export const Balance = z.object({
  currency: z.string(), posted: MoneyOut, pendingDebits: MoneyOut, pendingCredits: MoneyOut, available: MoneyOut,
}).openapi("Balance");

const Window = z.object({
  window: z.string(), windowId: z.string().optional(), used: MoneyOut, limit: MoneyOut.optional(), remaining: MoneyOut.optional(),
  usedPercent: z.number().optional(),
});
export const Budget = z.object({
  currency: z.string(), daily: Window, weekly: Window, monthly: Window, rolling24h: Window,
  paymentsToday: z.object({ count: z.number().int(), max: z.number().int().optional() }),
}).openapi("Budget");

export const Transfer = z.looseObject({
  id: z.string(), kind: z.enum(["single", "pending", "post", "void", "expire"]), debitAccountId: z.string(), creditAccountId: z.string(),
  amount: MoneyOut, currency: z.string(), createdAt: Timestamp,
}).openapi("Transfer");

export const Statement = z.object({
  accountId: z.string(),
  entries: z.array(z.looseObject({
    transferId: z.string(), kind: z.string(), seq: z.number(), at: Timestamp, direction: z.enum(["debit", "credit"]), amount: MoneyOut,
    currency: z.string(), counterpartyAccountId: z.string(), balanceAfter: MoneyOut,
  })),
  nextCursor: z.string().optional(),
}).openapi("Statement");

const AgentKey = z.object({
  kid: z.string(), alg: z.enum(["EdDSA", "ES256"]), publicKeyJwk: z.record(z.string(), z.string()),
  status: z.enum(["active", "retired", "revoked"]), addedAt: Timestamp, notAfter: Timestamp.optional(), revokedAt: Timestamp.optional(),
});
export const Agent = z.object({
  id: id("agt", "agent"), name: z.string(), ownerId: z.string().optional(), status: z.enum(["active", "disabled"]), createdAt: Timestamp,
  disabledAt: Timestamp.optional(), activeKid: z.string(), keys: z.array(AgentKey),
}).openapi("Agent");

export const AgentWithKey = z.object({
  agent: Agent, kid: z.string(),
  privateKeyJwk: z.record(z.string(), z.string()).optional().openapi({ description: "Only when the server generated the key pair: shown this once, never stored. Prefer sending your own publicKeyJwk." }),
}).openapi("AgentWithKey");

export const Grant = z.object({
  id: id("gnt", "grant"), subWalletId: z.string(), agentId: z.string(), scopes: z.array(z.string()), mode: z.enum(["persistent", "session"]),
  status: z.enum(["active", "revoked"]), createdAt: Timestamp, expiresAt: Timestamp.optional(), maxUses: z.number().int().optional(),
  uses: z.number().int(), lastUsedAt: Timestamp.optional(), revokedAt: Timestamp.optional(),
}).openapi("Grant");

export const Merchant = z.object({
  id: id("mer", "merchant"), name: z.string(), category: z.string(), callbackUrl: z.string().optional(), settlement: z.enum(["ledger", "chain"]),
  chainAddress: z.string().optional(), payoutAccounts: z.record(z.string(), z.string()), status: z.enum(["active", "disabled"]), createdAt: Timestamp,
}).openapi("Merchant");

export const ApiKey = z.object({
  id: id("key", "API key"), kind: z.enum(["operator", "person", "merchant"]), ownerId: z.string().optional(), merchantId: z.string().optional(),
  name: z.string().optional(), prefix: z.string(), createdAt: Timestamp, expiresAt: Timestamp.optional(), revokedAt: Timestamp.optional(),
  replacedBy: z.string().optional(),
}).openapi("ApiKey");

export const ApiKeyWithSecret = z.object({
  apiKey: ApiKey, secret: z.string().openapi({ description: "Shown this once. Send as `Authorization: Bearer <secret>`." }),
}).openapi("ApiKeyWithSecret");

export const MerchantRegistered = z.object({
  merchant: Merchant,
  callbackSecret: z.string().openapi({ description: "Signs this merchant's webhooks (HMAC-SHA256). Shown once." }),
  apiKey: ApiKeyWithSecret,
}).openapi("MerchantRegistered");

const RiskDecision = z.looseObject({ outcome: z.enum(["allow", "review", "decline"]), score: z.number(), reasons: z.array(z.looseObject({ code: z.string(), message: z.string() })), ruleSetVersion: z.string() });
export const Decision = z.object({
  outcome: z.enum(["allow", "review", "decline"]),
  policy: z.object({ outcome: z.enum(["allow", "review", "decline"]), version: z.number(), reasons: z.array(Reason) }),
  risk: RiskDecision, at: Timestamp,
}).openapi("Decision");

export const Voucher = z.looseObject({ voucher: z.record(z.string(), z.unknown()), digest: z.string(), signature: z.string(), chainId: z.number(), settlement: z.string() }).openapi("Voucher");

export const Payment = z.object({
  id: id("pay", "payment"),
  status: z.enum(["pending_approval", "authorized", "captured", "voided", "expired", "declined", "denied"]),
  ownerId: z.string(), walletId: z.string(), subWalletId: z.string(), agentId: z.string(), grantId: z.string().optional(), merchantId: z.string(),
  category: z.string(), amount: MoneyOut, currency: z.string(), reference: z.string().optional(), idempotencyKey: z.string(), createdAt: Timestamp,
  decision: Decision, agentKid: z.string(), approvalId: z.string().optional(), tokenId: z.string().optional(), holdTransferId: z.string().optional(),
  authorizedAt: Timestamp.optional(), expiresAt: Timestamp.optional(), captureTransferId: z.string().optional(), captured: MoneyOut.optional(),
  capturedAt: Timestamp.optional(), refunded: MoneyOut.optional(), resolvedAt: Timestamp.optional(),
  chain: z.looseObject({ digest: z.string(), deadline: z.number(), chainId: z.number(), settlement: z.string(), nonce: z.string() }).optional(),
  token: z.string().optional().openapi({ description: "For the payment's own agent, while authorized: the single-use token. A bearer credential." }),
  voucher: Voucher.optional(),
}).openapi("Payment");

export const AuthorizeResult = z.object({
  status: z.enum(["approved", "pending_approval", "captured", "voided", "expired", "denied"]),
  paymentId: z.string(), token: z.string().optional(), tokenId: z.string().optional(), approvalId: z.string().optional(),
  expiresAt: Timestamp.optional(), decision: Decision, voucher: Voucher.optional(),
}).openapi("AuthorizeResult");

export const Receipt = z.object({
  paymentId: z.string(), tokenId: z.string(), merchantId: z.string(), captured: MoneyOut, released: MoneyOut, currency: z.string(),
  transferId: z.string(), capturedAt: Timestamp,
}).openapi("Receipt");

export const Refund = z.object({
  id: id("rfd", "refund"), paymentId: z.string(), merchantId: z.string(), amount: MoneyOut, currency: z.string(), transferId: z.string(),
  createdAt: Timestamp, reason: z.string().optional(),
}).openapi("Refund");

export const RefundRequest = z.object({
  id: id("rrq", "refund request"), paymentId: z.string(), merchantId: z.string(), agentId: z.string(), subWalletId: z.string(),
  amount: MoneyOut, currency: z.string(), reason: z.string().optional(), status: z.enum(["pending", "granted", "declined"]),
  createdAt: Timestamp, resolvedAt: Timestamp.optional(), refundId: z.string().optional(), declineReason: z.string().optional(),
}).openapi("RefundRequest");

export const Approval = z.object({
  id: id("apr", "approval"), ownerId: z.string(), subWalletId: z.string(), agentId: z.string(),
  subject: z.object({ kind: z.string(), id: z.string() }), summary: z.record(z.string(), z.unknown()), reasons: z.array(Reason),
  createdAt: Timestamp, expiresAt: Timestamp, status: z.enum(["pending", "approved", "denied", "expired"]), resolvedAt: Timestamp.optional(),
  resolvedBy: z.string().optional(), note: z.string().optional(),
}).openapi("Approval");

export const ApprovalResolution = z.object({ approval: Approval, result: AuthorizeResult.optional() }).openapi("ApprovalResolution");

export const Event = z.looseObject({ id: z.string(), type: z.string(), createdAt: Timestamp, subject: z.record(z.string(), z.string()).optional(), data: z.unknown().optional() }).openapi("Event");

export const WalletList = list(Wallet, "WalletList");
export const SubWalletList = list(SubWallet, "SubWalletList");
export const AgentList = list(Agent, "AgentList");
export const GrantList = list(Grant, "GrantList");
export const PaymentList = list(Payment, "PaymentList");
export const ApprovalList = list(Approval, "ApprovalList");
export const RefundRequestList = list(RefundRequest, "RefundRequestList");
export const ApiKeyList = list(ApiKey, "ApiKeyList");
export const MerchantList = list(Merchant, "MerchantList");
