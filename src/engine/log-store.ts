import { AgentPayError, siblingModuleUrl } from "../core/index.ts";
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
 * open discards. One process at a time may open a directory (dir-lock.ts), and what the
 * directory holds is named by its manifest (log-files.ts): open refuses a directory that holds less.
 */
export class LogStore extends WorkerStore {
  constructor(dir: string, opts: LogStoreOptions = {}) {
    const compactMinBytes = opts.compactMinBytes ?? 64 << 20;
    if (!Number.isSafeInteger(compactMinBytes) || compactMinBytes < 1) {
      throw new AgentPayError("INVALID_INPUT", "compactMinBytes must be a positive integer", { field: "compactMinBytes" });
    }
    super(siblingModuleUrl(import.meta.url, "log-worker"), { dir, sync: opts.sync ?? true, compactMinBytes }, "log", dir);
  }
}
