// `agentpay serve --postgres` as a user runs it: two server processes on one database. One leads (its
// /readyz is 200), the other stands by (503, and a write to it is NOT_LEADER); SIGKILL the leader and
// the standby takes over with every acknowledged write, and takes writes itself.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { startServerProcess } from "../../scripts/server-process.ts";
import type { ServerProcess } from "../../scripts/server-process.ts";
import { freshSchema, pgUrl, until } from "./helpers.ts";

describe("agentpay serve --postgres: a leader and a standby in their own processes", function () {
  this.timeout(120_000);
  const operatorKey = `op_${randomBytes(24).toString("base64url")}`;
  const servers: ServerProcess[] = [];
  after(async () => {
    for (const s of servers) await s.stop(2_000).catch(() => {});
  });

  const call = async (s: ServerProcess, method: string, path: string, body?: unknown, idem?: string) => {
    const r = await fetch(`${s.url}${path}`, {
      method, headers: { authorization: `Bearer ${operatorKey}`, "content-type": "application/json", ...(idem ? { "idempotency-key": idem } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: await r.json() as Record<string, any> };
  };
  const ready = async (s: ServerProcess) => {
    const r = await fetch(`${s.url}/readyz`);
    const body = await r.json() as { status: string; role: string };
    return { http: r.status, status: body.status, role: body.role };
  };

  it("one leads, one stands by; after the leader is SIGKILLed the standby serves every acknowledged write and takes new ones", async () => {
    const args = ["--postgres", pgUrl(), "--pg-schema", freshSchema("serve"), "--risk", "off"];
    servers.push(await startServerProcess({ operatorKey, args }), await startServerProcess({ operatorKey, args }));
    let roles: Array<{ http: number; role: string }> = [];
    await until(async () => {
      roles = await Promise.all(servers.map(ready));
      return roles.filter((r) => r.role === "leader").length === 1 && roles.filter((r) => r.role === "standby").length === 1;
    }, "one leader and one standby");
    const leader = servers[roles.findIndex((r) => r.role === "leader")]!;
    const standby = servers[roles.findIndex((r) => r.role === "standby")]!;
    expect(await ready(leader)).to.deep.equal({ http: 200, status: "ok", role: "leader" });
    expect(await ready(standby)).to.deep.equal({ http: 503, status: "not_ready", role: "standby" });

    const wallet = await call(leader, "POST", "/v1/wallets", { ownerId: "alice", currency: "USD", timeZone: "UTC" }, "w-1");
    expect(wallet.status, JSON.stringify(wallet.body)).to.equal(201);
    const deposit = await call(leader, "POST", `/v1/wallets/${wallet.body.id}/deposits`, { amount: { value: "125.50", currency: "USD" } }, "d-1");
    expect(deposit.status, JSON.stringify(deposit.body)).to.be.oneOf([200, 201]);

    // A write to the standby changes nothing and says who leads.
    const refused = await call(standby, "POST", "/v1/wallets", { ownerId: "bob", currency: "USD", timeZone: "UTC" }, "w-2");
    expect(refused.status).to.equal(503);
    expect(refused.body.error.code).to.equal("NOT_LEADER");
    // The standby serves reads of what the leader committed.
    await until(async () => (await call(standby, "GET", `/v1/wallets/${wallet.body.id}`)).status === 200, "the standby replays the wallet");

    leader.child.kill("SIGKILL");
    await until(async () => (await ready(standby)).http === 200, "the standby takes over");
    const balance = await call(standby, "GET", `/v1/wallets/${wallet.body.id}/balance`);
    expect(balance.status, JSON.stringify(balance.body)).to.equal(200);
    expect(balance.body.available).to.deep.equal({ value: "125.50", currency: "USD" });
    const more = await call(standby, "POST", `/v1/wallets/${wallet.body.id}/deposits`, { amount: { value: "1.00", currency: "USD" } }, "d-2");
    expect(more.status, JSON.stringify(more.body)).to.be.oneOf([200, 201]);
    expect((await call(standby, "GET", `/v1/wallets/${wallet.body.id}/balance`)).body.available).to.deep.equal({ value: "126.50", currency: "USD" });
    expect(standby.stderr()).to.match(/now leader/);
  });

  it("refuses --postgres with --data or --memory, and a value that is not a URL (usage error, exit 2)", async () => {
    for (const args of [["--postgres", pgUrl(), "--memory"], ["--postgres", "not-a-url"]]) {
      const err = await startServerProcess({ operatorKey, args }).then(() => undefined, (e: Error) => e);
      expect(err?.message, args.join(" ")).to.match(/exited \(2\)/);
    }
  });
});
