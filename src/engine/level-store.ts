import { WorkerStore } from "./worker-store.ts";

/**
 * LevelDB on a worker thread (level-worker.ts): the alternative to LogStore for a directory
 * that already holds a LevelDB store, or for state larger than memory could snapshot quickly.
 */
export class LevelStore extends WorkerStore {
  constructor(dir: string, opts: { sync?: boolean } = {}) {
    super(new URL("./level-worker.ts", import.meta.url), { dir, sync: opts.sync ?? true }, "LevelDB");
  }
}
