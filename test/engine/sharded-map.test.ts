import { expect } from "chai";
import { ShardedMap } from "../../src/engine/sharded-map.ts";

describe("engine: the sharded record map", () => {
  it("agrees with a Map on get, has, size and contents through sets, overwrites and deletes", () => {
    const model = new Map<string, number>();
    const m = new ShardedMap<number>();
    // Short keys, keys alike in their last chars, and long keys that differ only at the start.
    const keys = [
      ...Array.from({ length: 3_000 }, (_, i) => `tr/${i}`),
      ...Array.from({ length: 500 }, (_, i) => `${i}-same-tail-usd`),
      ...Array.from({ length: 500 }, (_, i) => `${i}${"x".repeat(40)}`),
      "", "é€😀",
    ];
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) % n);
    for (let step = 0; step < 20_000; step++) {
      const k = keys[rnd(keys.length)]!;
      if (rnd(4) === 0) expect(m.delete(k)).to.equal(model.delete(k));
      else {
        expect(m.set(k, step)).to.equal(m);
        model.set(k, step);
      }
    }
    expect(m.size).to.equal(model.size);
    for (const k of keys) {
      expect(m.get(k)).to.equal(model.get(k));
      expect(m.has(k)).to.equal(model.has(k));
    }
    expect(new Map(m)).to.deep.equal(model);
  });
});
