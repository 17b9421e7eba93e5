// The traffic simulator: seeded normal agent traffic plus injected attacks, and a runner that measures detection.
export { Prng, Zipf } from "./prng.ts";
export { PERSONAS, PERSONA_WEIGHTS, CASHOUT_CATEGORIES, CARD_TEST_CATEGORIES } from "./personas.ts";
export type { Persona, CategoryProfile } from "./personas.ts";
export { simulate, ATTACK_KINDS, defaultAttackCounts, merchantId } from "./simulate.ts";
export type { AttackKind, SimLabel, SimPayment, SimOptions, SimResult } from "./simulate.ts";
export { runSimulation, summarize, formatTable, policyVerdict } from "./run.ts";
export type { RunStats, RunOptions, LabelStats, Summary } from "./run.ts";
