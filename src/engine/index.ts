export { Engine } from "./engine.ts";
export type { Command, EngineOptions, Observer, Tx } from "./engine.ts";
export { LevelStore, MemoryStore } from "./store.ts";
export type { Store, StoreOp } from "./store.ts";
