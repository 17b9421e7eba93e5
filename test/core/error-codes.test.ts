import { expect } from "chai";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCodes, errorCatalog, isErrorCode } from "../../src/index.ts";
import { ERRORS_DOC, renderErrorsDoc } from "../../scripts/gen-errors-doc.ts";

const src = fileURLToPath(new URL("../../src", import.meta.url));
const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
});

describe("error codes: one closed catalog, documented", () => {
  it("every code is UPPER_SNAKE, documented with an HTTP status, and docs/ERRORS.md is generated from the catalog", () => {
    for (const code of ErrorCodes) {
      expect(code).to.match(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(errorCatalog[code].description.length, code).to.be.greaterThan(10);
      expect(errorCatalog[code].http, code).to.be.within(400, 599);
    }
    expect(isErrorCode("PAYMENT_DECLINED")).to.equal(true);
    expect(isErrorCode("NOPE")).to.equal(false);
    expect(readFileSync(ERRORS_DOC, "utf8"), "run node scripts/gen-errors-doc.ts").to.equal(renderErrorsDoc());
  });

  it("every code the sources name in an AgentPayError is in the catalog (tsc enforces the literal ones; this catches the rest)", () => {
    const named = new Set<string>();
    for (const f of files(src)) {
      for (const m of readFileSync(f, "utf8").matchAll(/AgentPayError\(\s*"([A-Z0-9_]+)"/g)) named.add(m[1]!);
    }
    expect(named.size).to.be.greaterThan(50);
    expect([...named].filter((c) => !isErrorCode(c))).to.deep.equal([]);
  });
});
