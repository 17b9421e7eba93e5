import { ManualClock, encodeJson } from "../../src/core/index.ts";
import { Engine, MemoryStore } from "../../src/engine/index.ts";
import type { Store } from "../../src/engine/index.ts";
import { Agents, Grants } from "../../src/agents/index.ts";
import type { AgentsOptions, GrantsOptions } from "../../src/agents/index.ts";

export interface World {
  engine: Engine;
  store: Store;
  clock: ManualClock;
  agents: Agents;
  grants: Grants;
}

export async function openWorld(
  opts: { store?: Store; clock?: ManualClock; agents?: AgentsOptions; grants?: GrantsOptions } = {},
): Promise<World> {
  const store = opts.store ?? new MemoryStore();
  const clock = opts.clock ?? new ManualClock();
  const engine = Engine.create({ store, clock });
  const agents = new Agents(engine, opts.agents);
  const grants = new Grants(engine, opts.grants);
  await engine.load();
  return { engine, store, clock, agents, grants };
}

/** Every record, encoded: equal snapshots mean nothing changed. */
export function snapshot(engine: Engine): string {
  return encodeJson([...engine.scan("")].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Resolves to the error a promise rejects with (fails if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<{ code?: string; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error("expected a rejection");
}

export function thrown(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error("expected a throw");
}

export const SUB = "sub_0123456789abcdef";
export const SUB2 = "sub_fedcba9876543210";
