// Dead letters: deliveries that used up their attempts (or were refused), and putting one back in line.
import { AgentPayError } from "../core/index.ts";
import type { Engine } from "../engine/index.ts";
import { deliveryView } from "./outbox.ts";
import { deliveryKey } from "./types.ts";
import type { DeliveryRecord, DeliveryView } from "./types.ts";

export class DeadLetters {
  readonly #engine: Engine;
  /** Ids of dead deliveries, kept by the deliverer's observer. */
  readonly #ids = new Set<string>();

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  /** The observer's view: `id` is dead, or not (any more). */
  mark(id: string, dead: boolean): void {
    if (dead) this.#ids.add(id);
    else this.#ids.delete(id);
  }

  get size(): number {
    return this.#ids.size;
  }

  list(limit: number): DeliveryView[] {
    const out: DeliveryView[] = [];
    for (const id of this.#ids) {
      if (out.length >= limit) break;
      const d = this.#engine.read<DeliveryRecord>(deliveryKey(id));
      if (d) out.push(deliveryView(d));
    }
    return out;
  }

  /**
   * Puts a dead-lettered delivery back in line with a fresh attempt budget (its log is kept).
   * `isHeld(id)`: a topic delivery still held in its event (pending, so not dead).
   */
  async redeliver(deliveryId: string, isHeld: (id: string) => boolean): Promise<DeliveryView> {
    if (typeof deliveryId !== "string") throw new AgentPayError("INVALID_INPUT", "deliveryId must be a string", { field: "deliveryId" });
    const d = await this.#engine.submit((tx) => {
      const cur = tx.get<DeliveryRecord>(deliveryKey(deliveryId));
      if (!cur && isHeld(deliveryId)) {
        throw new AgentPayError("DELIVERY_NOT_DEAD", "only a dead-lettered delivery can be redelivered", { deliveryId, status: "pending" });
      }
      if (!cur) throw new AgentPayError("DELIVERY_NOT_FOUND", "no such delivery", { deliveryId });
      if (cur.status !== "dead") throw new AgentPayError("DELIVERY_NOT_DEAD", "only a dead-lettered delivery can be redelivered", { deliveryId, status: cur.status });
      const { deadAtMs: _dead, ...rest } = cur;
      const next: DeliveryRecord = { ...rest, status: "pending", attempts: 0, nextAttemptAtMs: tx.nowMs, updatedAtMs: tx.nowMs };
      tx.put(deliveryKey(deliveryId), next);
      return next;
    });
    return deliveryView(d);
  }
}
