// Every code an AgentPayError can carry, with what it means and the HTTP status the server answers it
// with (one table: the library, the HTTP API, the CLI and MCP all use it). Codes are public API:
// never rename or remove one, only add. docs/ERRORS.md is generated from this table.

/** One code's documentation. `http` is the status the HTTP API answers with. */
export interface ErrorCodeInfo {
  readonly http: 400 | 401 | 402 | 403 | 404 | 405 | 408 | 409 | 410 | 413 | 415 | 422 | 429 | 500 | 501 | 502 | 503;
  readonly area: "input" | "auth" | "ledger" | "wallets" | "agents" | "payments" | "tokens" | "approvals" | "events" | "risk" | "chain" | "engine" | "http" | "x402";
  readonly description: string;
}

export const errorCatalog = {
  // input
  INVALID_INPUT: { http: 400, area: "input", description: "A field is missing, of the wrong type, unknown, out of range or malformed; details.field names it." },
  INVALID_AMOUNT: { http: 400, area: "input", description: "An amount is not a positive decimal string with at most the currency's decimals, or is beyond 2^127 minor units." },
  UNKNOWN_CURRENCY: { http: 400, area: "input", description: "The currency is not an ISO 4217 code (or a registered asset)." },
  CURRENCY_MISMATCH: { http: 422, area: "input", description: "The amount's currency differs from the account's or the payment's." },
  INVALID_ID: { http: 400, area: "input", description: "An id or idempotency key is malformed (ids look like `pay_…`; keys are 1-255 printable characters)." },
  // http (the server's own)
  UNAUTHENTICATED: { http: 401, area: "http", description: "No credentials, or credentials that are unknown, revoked or expired." },
  FORBIDDEN: { http: 403, area: "http", description: "The caller is authenticated but may not act on this resource." },
  NOT_FOUND: { http: 404, area: "http", description: "No such route or resource (or not visible to this caller)." },
  METHOD_NOT_ALLOWED: { http: 405, area: "http", description: "The route exists but not with this method." },
  REQUEST_TIMEOUT: { http: 408, area: "http", description: "The request took longer than the server allows." },
  PAYLOAD_TOO_LARGE: { http: 413, area: "http", description: "The body is larger than the server accepts." },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, area: "http", description: "The body is not application/json." },
  RATE_LIMITED: { http: 429, area: "http", description: "Too many requests for this key; retry after the Retry-After header's seconds." },
  REQUEST_SIGNATURE_INVALID: { http: 401, area: "auth", description: "An agent's request signature is missing, malformed, expired, replayed or does not verify." },
  API_KEY_NOT_FOUND: { http: 404, area: "auth", description: "No such API key." },
  CONNECTION_FAILED: { http: 503, area: "http", description: "A client could not reach the server, or lost the connection before the answer (it retries where that is safe); a lost write may have taken effect: retry it with the same idempotency key." },
  RESPONSE_INVALID: { http: 502, area: "http", description: "A client got an answer that is not the API's (not its JSON, or from something else in between)." },
  IDEMPOTENCY_KEY_IN_USE: { http: 409, area: "http", description: "A request with this Idempotency-Key is still being processed; retry later." },
  INTERNAL_ERROR: { http: 500, area: "http", description: "Something failed that should not have; the request id identifies it in the logs." },
  NOT_LEADER: { http: 503, area: "engine", description: "This node is a standby (or just lost the lease): writes go to the leader (details.leader names it). Nothing was applied." },
  STORE_UNAVAILABLE: { http: 503, area: "engine", description: "The store (PostgreSQL) cannot be reached right now; the node reconnects by itself. A write that got this may or may not have been applied: retry it with the same idempotency key." },
  // ledger
  ACCOUNT_NOT_FOUND: { http: 404, area: "ledger", description: "No such ledger account." },
  ACCOUNT_EXISTS: { http: 409, area: "ledger", description: "An account with this id exists with other properties." },
  ACCOUNT_CLOSED: { http: 409, area: "ledger", description: "The account is closed." },
  TRANSFER_NOT_FOUND: { http: 404, area: "ledger", description: "No such transfer." },
  INSUFFICIENT_FUNDS: { http: 422, area: "ledger", description: "The account cannot cover the amount (balances never go below zero)." },
  LIMIT_EXCEEDED: { http: 422, area: "ledger", description: "The transfer would break an account's balance limit." },
  IDEMPOTENCY_CONFLICT: { http: 409, area: "ledger", description: "The idempotency key (or transfer id) was used before with a different request." },
  TRANSFER_ALREADY_RESOLVED: { http: 409, area: "ledger", description: "The pending transfer was already posted, voided or expired." },
  TRANSFER_EXPIRED: { http: 410, area: "ledger", description: "The pending transfer expired." },
  TRANSFER_NOT_PENDING: { http: 409, area: "ledger", description: "The transfer is not a pending one." },
  LINKED_TRANSFER_FAILED: { http: 422, area: "ledger", description: "Another transfer of the linked set failed, so none was applied." },
  // wallets
  WALLET_NOT_FOUND: { http: 404, area: "wallets", description: "No such wallet." },
  SUBWALLET_NOT_FOUND: { http: 404, area: "wallets", description: "No such sub-wallet." },
  SUBWALLET_FROZEN: { http: 409, area: "wallets", description: "The sub-wallet is frozen: no payment from it until it is unfrozen." },
  SUBWALLET_CLOSED: { http: 409, area: "wallets", description: "The sub-wallet is closed." },
  SUBWALLET_HAS_HOLDS: { http: 409, area: "wallets", description: "The sub-wallet has pending holds (outstanding tokens), so it cannot be closed yet." },
  // agents and grants
  AGENT_NOT_FOUND: { http: 404, area: "agents", description: "No such agent." },
  AGENT_DISABLED: { http: 403, area: "agents", description: "The agent is disabled." },
  AGENT_KEY_INVALID: { http: 400, area: "agents", description: "The public key is not an acceptable Ed25519 or P-256 JWK (or is a weak key)." },
  AGENT_KEY_EXISTS: { http: 409, area: "agents", description: "This key is already registered." },
  AGENT_KEY_LIMIT: { http: 422, area: "agents", description: "The agent has as many active keys as allowed; revoke one first." },
  AGENT_KEY_NOT_FOUND: { http: 404, area: "agents", description: "The agent has no key with this kid." },
  GRANT_NOT_FOUND: { http: 403, area: "agents", description: "The agent holds no active grant on this sub-wallet." },
  GRANT_REVOKED: { http: 403, area: "agents", description: "The grant was revoked." },
  GRANT_EXPIRED: { http: 403, area: "agents", description: "The grant expired." },
  GRANT_EXHAUSTED: { http: 403, area: "agents", description: "The grant's maximum number of uses is reached." },
  GRANT_SCOPE_MISSING: { http: 403, area: "agents", description: "The grant does not include the scope this action needs." },
  GRANT_LIMIT_REACHED: { http: 422, area: "agents", description: "Too many grants on this sub-wallet or agent." },
  INTENT_MALFORMED: { http: 400, area: "agents", description: "The signed intent is not a well-formed compact JWS of the expected type." },
  INTENT_SIGNATURE_INVALID: { http: 401, area: "agents", description: "The intent's signature does not verify with the agent's key." },
  INTENT_KEY_UNKNOWN: { http: 401, area: "agents", description: "The intent's kid names no key of a known agent." },
  INTENT_KEY_REVOKED: { http: 401, area: "agents", description: "The key that signed the intent was revoked." },
  INTENT_EXPIRED: { http: 401, area: "agents", description: "The intent's iat is too old or in the future; sign a fresh one." },
  INTENT_REPLAYED: { http: 409, area: "agents", description: "This signed intent (its nonce) was already used." },
  // merchants
  MERCHANT_NOT_FOUND: { http: 404, area: "payments", description: "No such merchant." },
  MERCHANT_DISABLED: { http: 409, area: "payments", description: "The merchant is disabled: no new payments, no redemptions." },
  // payments
  PAYMENT_NOT_FOUND: { http: 404, area: "payments", description: "No such payment (or not one of the caller's)." },
  PAYMENT_DECLINED: { http: 402, area: "payments", description: "The policy or the risk engine declined the payment; details.reasons says why, each with a code. Nothing moved." },
  PAYMENT_NOT_PENDING_APPROVAL: { http: 409, area: "payments", description: "The payment is not waiting for an approval." },
  PAYMENT_NOT_AUTHORIZED: { http: 409, area: "payments", description: "The payment is not authorized (so it cannot be voided or redeemed)." },
  PAYMENT_NOT_CAPTURED: { http: 409, area: "payments", description: "The payment was not captured, so there is nothing to refund." },
  REFUND_EXCEEDS_CAPTURE: { http: 422, area: "payments", description: "The refunds would exceed what was captured." },
  REFUND_REQUEST_NOT_FOUND: { http: 404, area: "payments", description: "No such refund request." },
  REFUND_REQUEST_RESOLVED: { http: 409, area: "payments", description: "The refund request was already granted or declined." },
  // tokens
  TOKEN_MALFORMED: { http: 400, area: "tokens", description: "Not a well-formed Token Pay token." },
  TOKEN_TOO_LARGE: { http: 400, area: "tokens", description: "The token is larger than any token the issuer makes." },
  TOKEN_TYPE_INVALID: { http: 401, area: "tokens", description: "The token's typ is not agentpay-token+jwt." },
  TOKEN_ALG_NOT_ALLOWED: { http: 401, area: "tokens", description: "The token's algorithm is not EdDSA or ES256 (alg none is always refused)." },
  TOKEN_KEY_UNKNOWN: { http: 401, area: "tokens", description: "The token's kid is not in the issuer's JWKS." },
  TOKEN_SIGNATURE_INVALID: { http: 401, area: "tokens", description: "The token's signature does not verify." },
  TOKEN_CLAIMS_INVALID: { http: 401, area: "tokens", description: "A claim is missing or malformed." },
  TOKEN_ISSUER_MISMATCH: { http: 401, area: "tokens", description: "The token's issuer is not this issuer." },
  TOKEN_AUDIENCE_MISMATCH: { http: 403, area: "tokens", description: "The token names another merchant." },
  TOKEN_EXPIRED: { http: 410, area: "tokens", description: "The token expired." },
  TOKEN_NOT_YET_VALID: { http: 401, area: "tokens", description: "The token's nbf is in the future." },
  TOKEN_AMOUNT_EXCEEDED: { http: 422, area: "tokens", description: "The amount is above the token's cap." },
  TOKEN_ALREADY_REDEEMED: { http: 409, area: "tokens", description: "The token was redeemed already (single use)." },
  TOKEN_VOIDED: { http: 409, area: "tokens", description: "The token's payment was voided." },
  TOKEN_UNKNOWN: { http: 404, area: "tokens", description: "The issuer never issued this token." },
  TOKEN_JWKS_INVALID: { http: 400, area: "tokens", description: "The JWKS given for offline verification is malformed." },
  TOKEN_ISSUER_NOT_READY: { http: 503, area: "tokens", description: "The issuer's signing keys are not loaded yet." },
  // approvals
  APPROVAL_NOT_FOUND: { http: 404, area: "approvals", description: "No such approval request." },
  APPROVAL_ALREADY_RESOLVED: { http: 409, area: "approvals", description: "The approval was already approved, denied or expired." },
  APPROVAL_NOT_READY: { http: 409, area: "approvals", description: "The approval request changed while it was being approved (a concurrent write); try again." },
  APPROVAL_EXPIRED: { http: 410, area: "approvals", description: "The approval request expired (it counts as a denial)." },
  // events
  DELIVERY_NOT_FOUND: { http: 404, area: "events", description: "No such event delivery." },
  DELIVERY_NOT_DEAD: { http: 409, area: "events", description: "Only a dead-lettered delivery can be redelivered." },
  WEBHOOK_SIGNATURE_INVALID: { http: 401, area: "events", description: "The webhook's signature does not match its body and timestamp." },
  WEBHOOK_TIMESTAMP_INVALID: { http: 401, area: "events", description: "The webhook's timestamp is malformed or outside the tolerance." },
  // risk
  RISK_RULES_INVALID: { http: 400, area: "risk", description: "The rule set is not valid; the old one stays in force." },
  RISK_STATE_INVALID: { http: 500, area: "risk", description: "The risk engine's saved state cannot be read." },
  // chain (the settlement contract's own errors, decoded)
  CHAIN_INVALID_CONFIG: { http: 422, area: "chain", description: "The contract refused its configuration." },
  CHAIN_ZERO_ADDRESS: { http: 422, area: "chain", description: "The contract refused a zero address." },
  CHAIN_ZERO_AMOUNT: { http: 422, area: "chain", description: "The contract refused a zero amount." },
  CHAIN_AMOUNT_TOO_LARGE: { http: 422, area: "chain", description: "The amount does not fit the contract's types." },
  CHAIN_INSUFFICIENT_BALANCE: { http: 422, area: "chain", description: "The escrow bucket cannot cover the amount." },
  CHAIN_NOT_MERCHANT: { http: 403, area: "chain", description: "Only the merchant a voucher names may redeem it." },
  CHAIN_NOT_OWNER_OR_AGENT: { http: 403, area: "chain", description: "Only the bucket's owner or agent may do this." },
  CHAIN_INVALID_SIGNATURE: { http: 401, area: "chain", description: "The voucher's signature is not the agent's (or the owner's)." },
  CHAIN_VOUCHER_EXPIRED: { http: 410, area: "chain", description: "The voucher's deadline passed." },
  CHAIN_VOUCHER_NOT_YET_VALID: { http: 422, area: "chain", description: "The voucher is not valid yet." },
  CHAIN_OVER_CAP: { http: 422, area: "chain", description: "The amount is above the voucher's cap." },
  CHAIN_NONCE_USED: { http: 409, area: "chain", description: "The voucher's nonce was used or cancelled." },
  CHAIN_AGENT_FROZEN: { http: 409, area: "chain", description: "The owner froze this agent's bucket." },
  CHAIN_MALFORMED_VOUCHERS: { http: 400, area: "chain", description: "The batch of vouchers is malformed." },
  CHAIN_NO_RELEASE: { http: 409, area: "chain", description: "No withdrawal is scheduled." },
  CHAIN_RELEASE_NOT_READY: { http: 409, area: "chain", description: "The withdrawal delay has not passed." },
  CHAIN_NOT_REDEEMED: { http: 409, area: "chain", description: "The voucher was not redeemed, so it cannot be refunded." },
  CHAIN_REFUND_EXCEEDS_REDEEMED: { http: 422, area: "chain", description: "The refund is above what was redeemed." },
  CHAIN_INVALID_CALL: { http: 422, area: "chain", description: "The voucher's call target or data do not match." },
  CHAIN_TRANSFER_ACCOUNTING_MISMATCH: { http: 422, area: "chain", description: "The token moved a different amount than asked (fee-on-transfer tokens are refused)." },
  CHAIN_TOKEN_INSUFFICIENT_ALLOWANCE: { http: 422, area: "chain", description: "The ERC-20 allowance is too low." },
  CHAIN_TOKEN_INSUFFICIENT_BALANCE: { http: 422, area: "chain", description: "The ERC-20 balance is too low." },
  CHAIN_NOT_NONCE_SIGNER: { http: 403, area: "chain", description: "Only the key the voucher's nonce names (the agent's below 2^255, the owner's above) may sign or cancel it." },
  CHAIN_VOUCHER_LIVE: { http: 409, area: "chain", description: "An owner-signed voucher cannot be cancelled inside its redemption window." },
  CHAIN_OWNER_NONCE_MISMATCH: { http: 422, area: "chain", description: "An owner nonce must carry the voucher's deadline." },
  // chain (the library's side)
  CHAIN_NOT_ENABLED: { http: 501, area: "chain", description: "The chain bridge is off: open agentpay with { chain: true } (serve --chain)." },
  CHAIN_REVERTED: { http: 422, area: "chain", description: "The transaction reverted with an error the settlement ABI does not name; details.data holds it." },
  CHAIN_TX_FAILED: { http: 502, area: "chain", description: "The transaction was mined but failed." },
  CHAIN_RPC_FAILED: { http: 502, area: "chain", description: "The chain's node could not be reached or refused the request." },
  CHAIN_NO_WALLET: { http: 422, area: "chain", description: "A write needs a wallet client or account." },
  CHAIN_WRONG_CHAIN: { http: 422, area: "chain", description: "The client is connected to another chain than expected." },
  CHAIN_NO_AGENT_KEY: { http: 422, area: "chain", description: "The agent has no voucher key." },
  CHAIN_SIGNER_MISSING: { http: 503, area: "chain", description: "The agent's host-held signer is not attached in this process." },
  CHAIN_AGENT_KEY_EXISTS: { http: 409, area: "chain", description: "The agent already has a voucher key." },
  CHAIN_NOT_BOUND: { http: 422, area: "chain", description: "The merchant settles on-chain and the sub-wallet is not bound to a bucket." },
  CHAIN_ALREADY_BOUND: { http: 409, area: "chain", description: "The sub-wallet (or the bucket) is bound already." },
  CHAIN_AGENT_MISMATCH: { http: 403, area: "chain", description: "Only the agent bound to the bucket can pay on-chain from it." },
  CHAIN_SETTLEMENT_REQUIRED: { http: 422, area: "chain", description: "A sub-wallet that mirrors an on-chain bucket pays on-chain merchants only." },
  CHAIN_VOUCHER_OUTSTANDING: { http: 409, area: "chain", description: "The payment's voucher is redeemable on-chain: cancel its nonce on-chain to void it." },
  CHAIN_PAYMENT_ON_CHAIN: { http: 409, area: "chain", description: "The payment settles on-chain: redeem its voucher with the contract." },
  CHAIN_NONCE_IN_USE: { http: 409, area: "chain", description: "The voucher nonce was taken meanwhile; retry." },
  CHAIN_REORG_TOO_DEEP: { http: 500, area: "chain", description: "A reorganisation went below the watcher's kept window." },
  CHAIN_REORG_CONFLICT: { http: 500, area: "chain", description: "A reorganisation cannot be compensated: the mirror no longer covers it." },
  CHAIN_WATCHER_MISMATCH: { http: 409, area: "chain", description: "The watcher's saved state is for another contract or chain." },
  // x402 (HTTP 402 payments)
  X402_HEADER_INVALID: { http: 400, area: "x402", description: "A PAYMENT-SIGNATURE (or PAYMENT-REQUIRED, PAYMENT-RESPONSE) header is not standard base64 of an x402 v2 JSON object, or is longer than allowed; details.header names it. Nothing moved." },
  X402_PAYMENT_REFUSED: { http: 402, area: "x402", description: "The payment does not buy this resource: it matches none of the offers, its token does not verify, was used or voided, names another merchant or resource, or does not cover the price; details.reason says which. Nothing moved." },
  X402_NO_PAYABLE_OFFER: { http: 402, area: "x402", description: "No offer of the 402 can be paid: none in agentpay's schemes and currency at or under maxAmount; details.offers lists them. Nothing was asked of agentpay." },
  X402_APPROVAL_TIMEOUT: { http: 408, area: "x402", description: "The payment still waits for the person's approval after the time allowed; it stays pending (details.paymentId, details.approvalId)." },
  X402_PAYMENT_DENIED: { http: 402, area: "x402", description: "The person denied the payment, or its approval expired; nothing moved (details.paymentId)." },
  X402_RESPONSE_INVALID: { http: 502, area: "x402", description: "The server's x402 answer is malformed: a 402 without a readable PAYMENT-REQUIRED, or an unreadable PAYMENT-RESPONSE." },
  X402_FACILITATOR_UNAVAILABLE: { http: 502, area: "x402", description: "The agentpay server that verifies and settles payments could not be reached or answered in an unexpected way; the request was not served." },
  // engine
  ENGINE_CLOSED: { http: 503, area: "engine", description: "The engine is closed (shutting down)." },
  ENGINE_OVERLOADED: { http: 503, area: "engine", description: "The engine's queue is full; retry shortly with the same idempotency key." },
  STORE_FAILURE: { http: 503, area: "engine", description: "The durable store failed and the engine stopped (fail-stop): details.outcome says unknown or not_written; reopen, then retry with the same idempotency key (docs/DURABILITY.md)." },
  STORE_LOCKED: { http: 503, area: "engine", description: "The store's directory is open elsewhere (another process, or this one through another path)." },
  STORE_FILE_MISSING: { http: 500, area: "engine", description: "A file the store's manifest names is missing (details.file): restore it, or the directory from a backup." },
  INVARIANT_VIOLATION: { http: 500, area: "engine", description: "A bug: an invariant the code relies on did not hold. Nothing was committed." },
} as const satisfies Record<string, ErrorCodeInfo>;

/** Every code, as a closed union: a code not in the catalog does not compile. */
export type ErrorCode = keyof typeof errorCatalog;

/** Every code, in catalog order. */
export const ErrorCodes = Object.freeze(Object.keys(errorCatalog)) as readonly ErrorCode[];

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(errorCatalog, code);
}
