// The risk engine's public face. See DESIGN.md "Risk engine" and docs in each file.
export { RiskEngine } from "./engine.ts";
export { combineVerdicts } from "./combine.ts";
export type { RiskEngineOptions } from "./engine.ts";
export type { RiskIntent, RiskReason, RiskDecision, RiskOutcome, RiskEvent, RiskEventKind } from "./types.ts";
export { defaultRuleSet, compileRuleSet, enableRules, CASH_LIKE_CATEGORIES, RULE_LIMITS } from "./rules.ts";
export type { RuleSet, Rule, RuleKind, Condition, ComparisonOp, SetOp } from "./rules.ts";
export { defaultBreakerOptions } from "./breaker.ts";
export type { BreakerOptions, BreakerStatus, BreakerTrip } from "./breaker.ts";
export { NUMERIC_FEATURES, STRING_FEATURES, defaultFeatureLimits } from "./features.ts";
export type { NumericFeature, StringFeature, FeatureLimits } from "./features.ts";
export { RISK_STATE_FORMAT } from "./state.ts";
export type { RiskState } from "./state.ts";
export { RISK_SEQ_KEY, RISK_OP_PREFIX, nextRiskSeqIn } from "./journal.ts";
export type { RiskOpRecord } from "./journal.ts";
