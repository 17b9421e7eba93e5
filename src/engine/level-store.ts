import { WorkerStore } from "./worker-store.ts";
import { siblingModuleUrl } from "../core/index.ts";

/**
 * LevelDB on a worker thread (level-worker.ts): the alternative to LogStore for a directory
 * that already holds a LevelDB store, or for state larger than memory could snapshot quickly.
 */
export class LevelStore extends WorkerStore {
  constructor(dir: string, opts: { sync?: boolean } = {}) {
    super(siblingModuleUrl(import.meta.url, "level-worker"), { dir, sync: opts.sync ?? true }, "LevelDB");
  }
}
