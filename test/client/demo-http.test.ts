// `npm run demo:http` as a user runs it: three processes over real sockets, every step checked by the
// demo itself; it must exit 0 and tell the whole story.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("client: npm run demo:http", function () {
  this.timeout(180_000);
  it("runs the server, an agent and a merchant as three processes and exits 0", async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ["scripts/demo-http.ts"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("error", reject);
      child.on("exit", (c) => resolve({ code: c, stdout, stderr }));
    });
    expect(code, `${stdout}\n${stderr}`).to.equal(0);
    for (let act = 1; act <= 8; act++) expect(stdout).to.match(new RegExp(`^${act}\\. `, "m"));
    expect(stdout).to.contain("[agent] long-polls GET /v1/payments/");
    expect(stdout).to.contain("[merchant] checked the token offline");
    expect(stdout).to.not.contain("✗");
    expect(stdout.trim().split("\n").pop()).to.equal("Everything behaved as told: three processes, real sockets.");
  });
});
