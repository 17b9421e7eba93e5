/**
 * A binary min-heap of (key, value) pairs, keys being times or sequence numbers. Used for
 * expiry queues (holds, tokens, nonces, deliveries); entries may go stale and are
 * re-checked by the caller. Parallel arrays: no object per entry.
 */
export class MinHeap<T> {
  readonly #keys: number[] = [];
  readonly #values: T[] = [];

  get size(): number {
    return this.#keys.length;
  }

  push(key: number, value: T): void {
    const k = this.#keys;
    const v = this.#values;
    let i = k.length;
    k.push(key);
    v.push(value);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (k[p]! <= key) break;
      k[i] = k[p]!;
      v[i] = v[p]!;
      i = p;
    }
    k[i] = key;
    v[i] = value;
  }

  /** The smallest key, without removing it. */
  peekKey(): number | undefined {
    return this.#keys[0];
  }

  peek(): { key: number; value: T } | undefined {
    return this.#keys.length === 0 ? undefined : { key: this.#keys[0]!, value: this.#values[0]! };
  }

  pop(): { key: number; value: T } | undefined {
    const k = this.#keys;
    const v = this.#values;
    if (k.length === 0) return undefined;
    const top = { key: k[0]!, value: v[0]! };
    const lastK = k.pop()!;
    const lastV = v.pop()!;
    const n = k.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && k[r]! < k[l]! ? r : l;
        if (k[c]! >= lastK) break;
        k[i] = k[c]!;
        v[i] = v[c]!;
        i = c;
      }
      k[i] = lastK;
      v[i] = lastV;
    }
    return top;
  }

  /** Removes and returns up to `max` values whose key is below `cutoff`, smallest first. */
  takeBelow(cutoff: number, max: number): T[] {
    const out: T[] = [];
    while (out.length < max && this.#keys.length > 0 && this.#keys[0]! < cutoff) out.push(this.pop()!.value);
    return out;
  }
}
