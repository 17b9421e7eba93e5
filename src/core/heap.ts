/** A binary min-heap on a numeric key; entries may go stale and are skipped by the caller. */
export class MinHeap<T> {
  readonly #items: Array<{ key: number; value: T }> = [];

  get size(): number {
    return this.#items.length;
  }

  push(key: number, value: T): void {
    const a = this.#items;
    a.push({ key, value });
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]!.key <= a[i]!.key) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }

  peek(): { key: number; value: T } | undefined {
    return this.#items[0];
  }

  pop(): { key: number; value: T } | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.key < a[m]!.key) m = l;
        if (r < a.length && a[r]!.key < a[m]!.key) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
