import { expect } from "chai";
import { AgentPayError } from "../../src/core/index.ts";
import { packOps, unpackOps } from "../../src/engine/packed-ops.ts";

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

describe("engine: the packed form of a store write", () => {
  it("round-trips puts, deletes, empty values and multi-byte text, in order", () => {
    const ops = [
      { type: "put" as const, key: "pm/1", value: '{"a":1}' },
      { type: "del" as const, key: "ts/old" },
      { type: "put" as const, key: "empty", value: "" },
      { type: "put" as const, key: "u/é€😀", value: '"naïve ☃ 😀"' },
    ];
    const back = unpackOps(packOps(ops));
    expect(back.map((o) => (o.type === "put" ? [o.type, text(o.key), text(o.value)] : [o.type, text(o.key)]))).to.deep.equal(
      ops.map((o) => (o.type === "put" ? [o.type, o.key, o.value] : [o.type, o.key])),
    );
    expect(unpackOps(packOps([]))).to.deep.equal([]);
  });

  it("refuses a buffer whose lengths do not add up", () => {
    const packed = packOps([{ type: "put", key: "k", value: "value" }]);
    const cut = packed.slice(0, packed.byteLength - 1);
    expect(() => unpackOps(cut)).to.throw();
    const longer = new Uint8Array(packed.byteLength + 1);
    longer.set(new Uint8Array(packed));
    expect(() => unpackOps(longer.buffer)).to.throw(AgentPayError);
  });
});
