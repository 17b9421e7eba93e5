/**
 * A sliding window made of `n` time buckets of `bucketMs` each, with `ch` channels
 * (e.g. count, amount). Adding and reading are O(1) amortised: running totals are kept and
 * buckets that fall out of the window are subtracted as time moves on. The window covers the
 * current bucket plus the n-1 before it, so its length is between (n-1)·bucketMs and n·bucketMs.
 *
 * Values are float64 statistics (minor units for amounts): exact for integers below 2^53.
 * They feed scores, never balances.
 */
export class Ring {
  readonly bucketMs: number;
  readonly n: number;
  readonly ch: number;
  readonly data: Float64Array;
  readonly totals: Float64Array;
  /** Absolute index (floor(t / bucketMs)) of the newest bucket; -1 before the first add. */
  head = -1;

  constructor(bucketMs: number, n: number, ch: number) {
    this.bucketMs = bucketMs;
    this.n = n;
    this.ch = ch;
    this.data = new Float64Array(n * ch);
    this.totals = new Float64Array(ch);
  }

  #advance(abs: number): void {
    const { n, ch, data, totals } = this;
    if (this.head < 0 || abs - this.head >= n) {
      data.fill(0);
      totals.fill(0);
    } else {
      for (let a = this.head + 1; a <= abs; a++) {
        const base = (a % n) * ch;
        for (let c = 0; c < ch; c++) {
          totals[c]! -= data[base + c]!;
          data[base + c] = 0;
        }
      }
    }
    this.head = abs;
  }

  add(atMs: number, c: number, v: number): void {
    const abs = Math.floor(atMs / this.bucketMs);
    if (abs > this.head) this.#advance(abs);
    else if (abs <= this.head - this.n) return; // older than the window: nothing to count
    this.data[(abs % this.n) * this.ch + c]! += v;
    this.totals[c]! += v;
  }

  /** The channel's total over the window ending at `atMs`, without changing anything. */
  read(atMs: number, c: number): number {
    if (this.head < 0) return 0;
    const abs = Math.floor(atMs / this.bucketMs);
    if (abs <= this.head) return this.totals[c]!;
    if (abs - this.head >= this.n) return 0;
    let t = this.totals[c]!;
    for (let a = this.head + 1; a <= abs; a++) t -= this.data[(a % this.n) * this.ch + c]!;
    return t < 0 ? 0 : t;
  }

  toJSON(): { h: number; d: number[] } {
    return { h: this.head, d: Array.from(this.data) };
  }

  static from(json: unknown, bucketMs: number, n: number, ch: number): Ring {
    const r = new Ring(bucketMs, n, ch);
    const j = json as { h?: unknown; d?: unknown } | null;
    if (!j || typeof j.h !== "number" || !Number.isInteger(j.h) || !Array.isArray(j.d) || j.d.length !== n * ch) {
      throw new TypeError("bad ring");
    }
    r.head = j.h;
    for (let i = 0; i < j.d.length; i++) {
      const v = j.d[i];
      if (typeof v !== "number" || !Number.isFinite(v)) throw new TypeError("bad ring value");
      r.data[i] = v;
      r.totals[i % ch]! += v;
    }
    return r;
  }
}

/** A bounded map that forgets the least recently touched entry when full. */
export class LruMap<K, V> {
  readonly max: number;
  readonly map = new Map<K, V>();
  evictions = 0;
  constructor(max: number) {
    this.max = max;
  }
  get size(): number {
    return this.map.size;
  }
  peek(k: K): V | undefined {
    return this.map.get(k);
  }
  /** Gets and marks as recently used. */
  touch(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next().value as K;
      this.map.delete(oldest);
      this.evictions++;
    }
  }
}
