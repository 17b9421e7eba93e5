import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The README's example must run as written: it is extracted and executed against src/. */
describe("README", () => {
  it("its API example runs and prints what its comment says", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const m = /<!-- example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- example:end -->/.exec(readme);
    expect(m, "README has an example block").to.not.equal(null);
    const code = m![1]!.replace(/from "agentpay"/g, `from ${JSON.stringify(join(root, "src/index.ts"))}`);
    const dir = mkdtempSync(join(tmpdir(), "agentpay-readme-"));
    try {
      const file = join(dir, "example.ts");
      writeFileSync(file, code);
      const out = execFileSync(process.execPath, [file], { encoding: "utf8", timeout: 60_000 });
      const expected = /console\.log\(.*\);\s*\/\/ (.+)$/m.exec(code)![1]!.trim();
      expect(out.trim().split("\n").pop()).to.equal(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
