import { expect } from "chai";
import { AgentPayError, isId, newId, validateId, validateKey } from "../../src/core/index.ts";

describe("core/ids", () => {
  it("makes prefixed, unique, well-formed ids", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const id = newId("wal");
      expect(isId(id, "wal")).to.equal(true);
      seen.add(id);
    }
    expect(seen.size).to.equal(10_000);
    expect(isId(newId("wal"), "tok")).to.equal(false);
  });

  it("rejects malformed ids and keys with INVALID_ID", () => {
    for (const bad of ["", "wal_", "WAL_abc", "wal-abcdefgh", 42, null, "wal_abc def", "tok_abcdefgh"]) {
      expect(() => validateId(bad, "wal")).to.throw(AgentPayError).with.property("code", "INVALID_ID");
    }
    for (const bad of ["", "a b", "x".repeat(129), 5, "é"]) {
      expect(() => validateKey(bad)).to.throw(AgentPayError).with.property("code", "INVALID_ID");
    }
    expect(validateKey("order-42:v1")).to.equal("order-42:v1");
  });
});
