// The API is language-neutral: a Python agent (standard library + cryptography, examples/python-agent)
// signs intents from docs/AGENTS.md alone and pays against `agentpay serve` running as its own process,
// set up by the AdminClient; the person approves while the Python agent long-polls.
import { expect } from "chai";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { amount, requestSignatureBody, signIntent } from "../../src/index.ts";
import { AdminClient, MerchantClient } from "../../src/client/index.ts";
import { startServerProcess } from "../../scripts/server-process.ts";
import type { ServerProcess } from "../../scripts/server-process.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const AGENT_PY = join(root, "examples/python-agent/agent.py");
const OPERATOR = "op_python_test_0123456789";

/** Debian's python3 with python3-cryptography (.ci/run installs both when missing), else the PATH's. */
function python(): string {
  for (const bin of ["/usr/bin/python3", "python3"]) {
    try {
      execFileSync(bin, ["-c", "import cryptography.hazmat.primitives.asymmetric.ed25519"], { stdio: "ignore" });
      return bin;
    } catch {
      // try the next
    }
  }
  throw new Error("no python3 with the cryptography package: apt-get install python3 python3-cryptography");
}

function run(py: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(py, [AGENT_PY, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("client: the Python agent (examples/python-agent)", function () {
  this.timeout(120_000);
  const py = python();

  it("signs docs/AGENTS.md's worked example byte for byte as the library does", async () => {
    const ex = JSON.parse(execFileSync(py, [AGENT_PY, "example"], { encoding: "utf8" })) as { publicKeyJwk: { x: string }; kid: string; intent: string; requestSignature: string };
    const doc = readFileSync(join(root, "docs/AGENTS.md"), "utf8");
    for (const s of [ex.kid, ex.intent, ex.requestSignature, ex.publicKeyJwk.x]) expect(doc).to.contain(s);
    const jwk = { kty: "OKP", crv: "Ed25519", x: ex.publicKeyJwk.x, d: Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex").toString("base64url") };
    const common = { agentId: "agt_0123456789abcdefghjkmnpqrs", kid: ex.kid, nowMs: 1_796_385_600_000, nonce: "AAECAwQFBgcICQoLDA0ODw" };
    expect(await signIntent(jwk, { ...common, body: {
      action: "pay", subWalletId: "sw_0123456789abcdefghjkmnpqrs", merchantId: "mer_0123456789abcdefghjkmnpqrs", amount: "12.50", currency: "USD", idempotencyKey: "order-1042",
    } })).to.equal(ex.intent);
    expect(await signIntent(jwk, { ...common, body: requestSignatureBody("GET", "/v1/payments/pay_0123456789abcdefghjkmnpqrs?wait=30") })).to.equal(ex.requestSignature);
  });

  describe("against `agentpay serve` in its own process", () => {
    let server: ServerProcess;
    let dir: string;
    let person: AdminClient;
    let merchant: MerchantClient;
    let args: string[];
    before(async () => {
      server = await startServerProcess({ operatorKey: OPERATOR });
      dir = mkdtempSync(join(tmpdir(), "agentpay-py-"));
      const keyFile = join(dir, "agent-key.pem");
      const generated = await run(py, ["keygen", "--out", keyFile]);
      expect(generated.code, generated.stderr).to.equal(0);
      const { publicKeyJwk, kid } = JSON.parse(generated.stdout) as { publicKeyJwk: Record<string, string>; kid: string };
      expect(publicKeyJwk).to.not.have.property("d");
      const operator = new AdminClient({ baseUrl: server.url, apiKey: OPERATOR });
      person = new AdminClient({ baseUrl: server.url, apiKey: (await operator.apiKeys.create({ kind: "person", ownerId: "dana" })).secret });
      const wallet = await person.wallets.create({ currency: "USD", timeZone: "America/New_York" });
      await person.wallets.deposit(wallet.id, amount("200.00", "USD"));
      const sw = await person.wallets.createSubWallet(wallet.id, { name: "books", budget: amount("100.00", "USD"), policy: { approvalAbove: "10.00", perPayment: "20.00" } });
      const reg = await person.agents.register({ name: "python-agent", publicKeyJwk });
      expect(reg.kid).to.equal(kid);
      await person.grants.create({ subWalletId: sw.id, agentId: reg.agent.id, scopes: ["pay"], mode: "persistent" });
      const m = await operator.merchants.register({ name: "Bookshop", category: "5942" });
      merchant = new MerchantClient({ baseUrl: server.url, apiKey: m.apiKey.secret, merchantId: m.merchant.id });
      args = ["pay", "--base-url", server.url, "--agent-id", reg.agent.id, "--key", keyFile, "--sub-wallet", sw.id, "--merchant", m.merchant.id, "--currency", "USD"];
    });
    after(async () => {
      await server?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("asks to pay, long-polls while the person approves, prints the token; the merchant verifies and redeems it", async () => {
      const paying = run(py, [...args, "--amount", "12.50", "--reference", "isbn-9780262046305", "--wait", "110"]);
      let approvalId: string | undefined;
      for (let i = 0; i < 600 && approvalId === undefined; i++) {
        approvalId = (await person.approvals.listPending()).data[0]?.id;
        if (approvalId === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      if (approvalId === undefined) throw new Error(`no approval was asked for: ${(await Promise.race([paying, Promise.resolve(undefined)]))?.stderr ?? ""}`);
      await person.approvals.approve(approvalId);
      const out = await paying;
      expect(out.code, out.stderr).to.equal(0);
      expect(out.stderr).to.match(/the person must approve/);
      const result = JSON.parse(out.stdout.trim().split("\n").pop()!) as { status: string; paymentId: string; token: string; tokenId: string };
      expect(result.status).to.equal("approved");
      const verified = await merchant.verify(result.token);
      expect(verified).to.include({ tokenId: result.tokenId, paymentId: result.paymentId });
      expect(verified.amount).to.deep.equal(amount("12.50", "USD"));
      const receipt = await merchant.redeem({ token: result.token, amount: amount("12.50", "USD") });
      expect(receipt.capturedMinor).to.equal(1250n);
    });

    it("a decline reaches the Python agent as the API's error: PAYMENT_DECLINED, exit 2", async () => {
      const out = await run(py, [...args, "--amount", "25.00"]);
      expect(out.code, out.stderr).to.equal(2);
      const result = JSON.parse(out.stdout.trim().split("\n").pop()!) as { status: string; code: string; requestId: string };
      expect(result).to.include({ status: "error", code: "PAYMENT_DECLINED" });
      expect(result.requestId).to.match(/^req_/);
    });

    it("refuses an amount that is not a decimal string before sending anything", async () => {
      const out = await run(py, [...args, "--amount", "1e3"]);
      expect(out.code).to.not.equal(0);
      expect(out.stderr).to.match(/decimal string/);
    });
  });
});
