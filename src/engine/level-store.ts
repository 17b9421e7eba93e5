import { readdirSync } from "node:fs";
import { AgentPayError, siblingModuleUrl } from "../core/index.ts";
import { isLogStoreFile } from "./log-files.ts";
import { WorkerStore } from "./worker-store.ts";

/**
 * LevelDB on a worker thread (level-worker.ts): the alternative to LogStore for a directory
 * that already holds a LevelDB store, or for state larger than memory could snapshot quickly.
 * Takes the same directory lock as LogStore (dir-lock.ts) before LevelDB touches the directory.
 */
export class LevelStore extends WorkerStore {
  constructor(dir: string, opts: { sync?: boolean } = {}) {
    super(siblingModuleUrl(import.meta.url, "level-worker"), { dir, sync: opts.sync ?? true }, "LevelDB", dir);
  }

  protected override checkDirectory(realDir: string): void {
    if (readdirSync(realDir).some(isLogStoreFile)) {
      throw new AgentPayError("STORE_FAILURE", "this directory holds a log store: open it with LogStore (the default storage)", { reason: "log_store_directory" });
    }
  }
}
