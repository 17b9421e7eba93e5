export { Engine } from "./engine.ts";
export type { Command, EngineOptions, Observer, Tx } from "./engine.ts";
export { LevelStore } from "./level-store.ts";
export { LogStore } from "./log-store.ts";
export type { LogStoreOptions } from "./log-store.ts";
export { MemoryStore } from "./store.ts";
export type { Store, StoreOp } from "./store.ts";
export { packOps, unpackOps } from "./packed-ops.ts";
export type { PackedOp } from "./packed-ops.ts";
