import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { AgentPayError, siblingModuleUrl } from "../core/index.ts";
import { syncDir } from "./log-files.ts";
import { releaseLock, takeLock } from "./log-lock.ts";
import { WorkerStore } from "./worker-store.ts";

export interface LogStoreOptions {
  /** fdatasync every write (default true). Off only for throwaway data. */
  sync?: boolean;
  /**
   * Logs since the last snapshot are folded into a new one once they exceed this (default 64 MiB)
   * and four times the snapshot: disk use stays within about six times the records' size.
   */
  compactMinBytes?: number;
}

/**
 * The default store: an append-only log of packed, checksummed batches plus snapshots, written
 * on a worker thread (log-worker.ts, file layout in log-files.ts). The engine holds every record
 * in memory, so the disk needs no index: a batch costs one append and one fdatasync, and
 * compaction runs on a thread of its own. A crash leaves at most a cut-off last write, which
 * open discards. One process at a time may open a directory (log-lock.ts).
 */
export class LogStore extends WorkerStore {
  readonly #dir: string;

  constructor(dir: string, opts: LogStoreOptions = {}) {
    const compactMinBytes = opts.compactMinBytes ?? 64 << 20;
    if (!Number.isSafeInteger(compactMinBytes) || compactMinBytes < 1) {
      throw new AgentPayError("INVALID_INPUT", "compactMinBytes must be a positive integer", { field: "compactMinBytes" });
    }
    super(siblingModuleUrl(import.meta.url, "log-worker"), { dir, sync: opts.sync ?? true, compactMinBytes }, "log");
    this.#dir = dir;
  }

  override async open(): Promise<void> {
    try {
      const created = mkdirSync(this.#dir, { recursive: true });
      // A new directory's name is durable before anything in it is acknowledged.
      if (created !== undefined) {
        for (let d = resolve(this.#dir); ; d = dirname(d)) {
          syncDir(dirname(d));
          if (d === resolve(created) || dirname(d) === d) break;
        }
      }
      takeLock(this.#dir);
    } catch (e) {
      throw new AgentPayError("STORE_FAILURE", `could not open the log store: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e });
    }
    try {
      await super.open();
    } catch (e) {
      releaseLock(this.#dir);
      throw e;
    }
  }

  override async close(): Promise<void> {
    try {
      await super.close();
    } finally {
      // Also when the worker died: the lock names this process, which is done with the directory.
      releaseLock(this.#dir);
    }
  }
}
