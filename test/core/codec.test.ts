import { expect } from "chai";
import fc from "fast-check";
import { decodeJson, encodeJson, encodeJsonBytes, sameBody } from "../../src/core/index.ts";
import { packOps, packRecords, unpackOps } from "../../src/engine/packed-ops.ts";

describe("core/codec", () => {
  it("round-trips any JSON value with bigints, whatever the strings hold", () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        fc.string({ unit: "binary" }), fc.bigInt(), fc.integer(), fc.boolean(), fc.constant(null),
        fc.array(tie("v"), { maxLength: 4 }),
        fc.dictionary(fc.string({ unit: "binary" }), tie("v"), { maxKeys: 4 }),
      ),
    })).v;
    fc.assert(fc.property(value, (v) => {
      expect(decodeJson(encodeJson(v))).to.deep.equal(v);
    }), { numRuns: 2_000 });
  });

  it("compares bodies regardless of key order and undefined members", () => {
    expect(sameBody({ a: 1n, b: "x", c: undefined }, { b: "x", a: 1n })).to.equal(true);
    expect(sameBody({ a: 1n }, { a: 2n })).to.equal(false);
  });
});

describe("core/codec: no stored data can pass for a bigint", () => {
  it("round-trips objects whose keys start with $, including one shaped like the bigint tag", () => {
    for (const v of [{ $n: "zz" }, { $n: "12" }, { $$n: "x", a: 1 }, { $: { $n: 5n } }, [{ $n: "hello" }]]) {
      expect(decodeJson(encodeJson(v))).to.deep.equal(v);
    }
  });
});

describe("core/codec: the encoder is JSON.stringify's text, bigints tagged and $-keys escaped, in UTF-8", () => {
  // Everything encodeJson meets or skips: escapes, lone surrogates, U+2028, non-ASCII, $-keys,
  // undefined/function members, NaN, toJSON, sparse arrays, nesting.
  const leaf = fc.oneof(
    fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), fc.string(), fc.bigInt(), fc.integer(), fc.double(), fc.boolean(),
    fc.constant(null), fc.constant(undefined), fc.constant(() => 1), fc.constant(Symbol("s")), fc.constant("\u2028\"\\\n"),
    fc.constant({ toJSON: () => ({ t: 1n }) }), fc.constant({ toJSON: () => undefined }),
  );
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: "small" },
      leaf,
      fc.array(tie("v"), { maxLength: 5 }),
      fc.dictionary(fc.oneof(fc.string({ unit: "binary" }), fc.constantFrom("$n", "$x", "a")), tie("v"), { maxKeys: 5 }),
    ),
  })).v;

  // The reference: JSON.stringify over a copy in which bigints are tagged and keys starting with
  // "$" get one more "$" (toJSON applied first, as the encoder does).
  const tagged = (x: unknown): unknown => {
    if (typeof x === "bigint") return { $n: x.toString() };
    if (x === null || typeof x !== "object") return x;
    if (Array.isArray(x)) return x.map(tagged);
    if (typeof (x as { toJSON?: unknown }).toJSON === "function") return tagged((x as { toJSON(): unknown }).toJSON());
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(x)) Object.defineProperty(out, k.startsWith("$") ? `$${k}` : k, { value: tagged((x as Record<string, unknown>)[k]), enumerable: true });
    return out;
  };

  it("matches the reference on random values, as text and as bytes (5,000 cases)", () => {
    fc.assert(fc.property(value, (v) => {
      const text = JSON.stringify(tagged(v)) as string | undefined;
      if (text === undefined) {
        expect(() => encodeJson(v)).to.throw();
        expect(() => encodeJsonBytes(v)).to.throw();
        return;
      }
      expect(encodeJson(v)).to.equal(text);
      expect(encodeJsonBytes(v).equals(Buffer.from(text, "utf8"))).to.equal(true);
    }), { numRuns: 5_000 });
  });

  it("packRecords gives the same bytes as encoding then packOps, deletions included", () => {
    const gone = Symbol("gone");
    fc.assert(fc.property(fc.array(fc.tuple(fc.string({ unit: "binary" }), fc.oneof(value, fc.constant(gone))), { maxLength: 8 }), (pairs) => {
      const ops = new Map<string, unknown>();
      for (const [k, v] of pairs) ops.set(k, v);
      let expected: ArrayBuffer;
      try {
        expected = packOps([...ops].map(([key, v]) => (v === gone ? { type: "del" as const, key } : { type: "put" as const, key, value: encodeJson(v) })));
      } catch {
        expect(() => packRecords(ops, gone)).to.throw();
        return;
      }
      // A tiny size hint: the buffer has to grow on the way.
      const packed = packRecords(ops, gone, 1);
      expect(Buffer.from(packed).equals(Buffer.from(expected))).to.equal(true);
      expect(unpackOps(packed)).to.have.length(ops.size);
    }), { numRuns: 1_000 });
  });

  it("a huge size hint (after a batch of one big record) does not make the next batch ask for gigabytes", () => {
    const ops = new Map<string, unknown>(Array.from({ length: 4_096 }, (_, i) => [`k/${i}`, { i }]));
    expect(unpackOps(packRecords(ops, Symbol("gone"), 6_000_000))).to.have.length(4_096);
  });
});
