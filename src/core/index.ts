export { AgentPayError, invariant, isAgentPayError } from "./errors.ts";
export type { ErrorDetails } from "./errors.ts";
export { ErrorCodes, errorCatalog, isErrorCode } from "./error-codes.ts";
export type { ErrorCode, ErrorCodeInfo } from "./error-codes.ts";
export {
  amount, parseAmount, formatAmount, parseMinor, validateAmount, sameCurrency,
  CurrencyRegistry, defaultCurrencies, MAX_AMOUNT_MINOR,
} from "./money.ts";
export type { Amount } from "./money.ts";
export { newId, isId, validateId, validateKey, scopedKey, random16 } from "./ids.ts";
export { systemClock, ManualClock, parseDurationMs } from "./clock.ts";
export type { Clock } from "./clock.ts";
export { encodeJson, encodeJsonBytes, decodeJson, deepFreeze, sameBody, JsonBytes } from "./codec.ts";
export { MinHeap } from "./heap.ts";
export { SignatureWorker, cryptoArgs, threadPoolSignatures } from "./signatures.ts";
export type { SignatureAlg, SignatureService } from "./signatures.ts";
export { every } from "./periodic.ts";
export { expectObject } from "./input.ts";
export { siblingModuleUrl } from "./module-url.ts";
export { toWire } from "./wire.ts";
