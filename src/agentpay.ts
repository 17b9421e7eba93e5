import { AgentPayError, CurrencyRegistry, systemClock } from "./core/index.ts";
import type { Clock } from "./core/index.ts";
import { Engine, LevelStore, MemoryStore } from "./engine/index.ts";
import type { Store } from "./engine/index.ts";
import { Ledger } from "./ledger/index.ts";
import { Wallets } from "./wallets/index.ts";
import { Approvals } from "./approvals/index.ts";

export interface AgentPayOptions {
  /** Directory of the embedded LevelDB store. */
  dir?: string;
  /** Keep everything in memory (tests). Same code, no disk. */
  memory?: boolean;
  /** A store of your own (e.g. a MemoryStore shared across reopen in tests). */
  store?: Store;
  clock?: Clock;
  /** Engine queue limit (back-pressure). */
  maxQueue?: number;
  /** Commands per durable batch. */
  maxBatch?: number;
}

/** The facade: wires the engine, the ledger and (as they land) the other modules. */
export class AgentPay {
  readonly engine: Engine;
  readonly ledger: Ledger;
  readonly wallets: Wallets;
  readonly approvals: Approvals;
  readonly currencies: CurrencyRegistry;
  readonly clock: Clock;

  private constructor(parts: { engine: Engine; ledger: Ledger; wallets: Wallets; approvals: Approvals; currencies: CurrencyRegistry; clock: Clock }) {
    this.engine = parts.engine;
    this.ledger = parts.ledger;
    this.wallets = parts.wallets;
    this.approvals = parts.approvals;
    this.currencies = parts.currencies;
    this.clock = parts.clock;
  }

  static async open(options: AgentPayOptions): Promise<AgentPay> {
    if (options === null || typeof options !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
    const sources = [options.dir !== undefined, options.memory === true, options.store !== undefined].filter(Boolean).length;
    if (sources !== 1) throw new AgentPayError("INVALID_INPUT", "give exactly one of dir, memory or store");
    if (options.dir !== undefined && (typeof options.dir !== "string" || options.dir.length === 0)) {
      throw new AgentPayError("INVALID_INPUT", "dir must be a non-empty path", { field: "dir" });
    }
    const store = options.store ?? (options.memory ? new MemoryStore() : new LevelStore(options.dir!));
    const clock = options.clock ?? systemClock;
    const engine = Engine.create({
      store, clock,
      ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
      ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
    });
    const currencies = new CurrencyRegistry();
    const ledger = new Ledger(engine, { currencies });
    const wallets = new Wallets(engine, ledger, currencies);
    const approvals = new Approvals(engine);
    await engine.load();
    return new AgentPay({ engine, ledger, wallets, approvals, currencies, clock });
  }

  async close(): Promise<void> {
    this.ledger.stopSweeper();
    await this.engine.close();
  }
}
