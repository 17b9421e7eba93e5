// Retention: old events whose deliveries are finished are deleted, in bounded steps.
import { AgentPayError, MinHeap } from "../core/index.ts";
import type { Engine } from "../engine/index.ts";
import { intOption } from "./options.ts";
import { deliveryKey, eventKey } from "./types.ts";
import type { DeliveryRecord, EventRecord } from "./types.ts";

export class Retention {
  readonly #engine: Engine;
  /** Events by creation time (fed by the deliverer's observer). */
  readonly #byAge = new MinHeap<string>();

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  /** A new event was written. */
  track(ev: EventRecord): void {
    this.#byAge.push(ev.createdAtMs, ev.id);
  }

  /** See `EventDeliverer.prune`. */
  prune(opts: { olderThanMs: number; limit?: number }): Promise<number> {
    let olderThanMs: number;
    let limit: number;
    try {
      if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
      if (opts.olderThanMs === undefined) throw new AgentPayError("INVALID_INPUT", "olderThanMs is required", { field: "olderThanMs" });
      olderThanMs = intOption(opts.olderThanMs, "olderThanMs", 0, 0, 10 * 366 * 86_400_000);
      limit = intOption(opts.limit, "limit", 1_000, 1, 10_000);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#engine.submit((tx) => {
      const cutoff = tx.nowMs - olderThanMs;
      const keep: Array<{ key: number; value: string }> = [];
      let n = 0;
      while (n < limit) {
        const top = this.#byAge.peek();
        if (!top || top.key > cutoff) break;
        this.#byAge.pop();
        const ev = tx.get<EventRecord>(eventKey(top.value));
        if (!ev) continue;
        const ds = ev.deliveryIds.map((id) => tx.get<DeliveryRecord>(deliveryKey(id)));
        const retrying = ds.some((d) => d && d.status === "pending" && d.destination.kind === "webhook");
        if (retrying) {
          keep.push({ key: tx.nowMs, value: top.value }); // look again later
          continue;
        }
        for (const id of ev.deliveryIds) if (tx.has(deliveryKey(id))) tx.del(deliveryKey(id));
        tx.del(eventKey(ev.id));
        n++;
      }
      for (const k of keep) this.#byAge.push(k.key, k.value);
      return n;
    });
  }
}
