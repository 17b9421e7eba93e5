import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AgentPayError } from "../../src/core/index.ts";
import { LevelStore, LogStore } from "../../src/engine/index.ts";
import type { Store } from "../../src/engine/index.ts";
import { AgentPay } from "../../src/index.ts";

const CHILD = fileURLToPath(new URL("./lock-child.ts", import.meta.url));

/**
 * A second PID namespace per child where the machine allows it (`unshare -p -f --mount-proc`, as
 * root): two containers sharing a volume, each its own PID 1. Elsewhere, two plain processes.
 */
const NAMESPACES = spawnSync("unshare", ["-p", "-f", "--mount-proc", "true"]).status === 0;

function command(args: string[]): [string, string[]] {
  return NAMESPACES ? ["unshare", ["-p", "-f", "--mount-proc", process.execPath, CHILD, ...args]] : [process.execPath, [CHILD, ...args]];
}

/** Starts a holder; resolves with its process and the pid it sees once it holds the directory. */
function hold(dir: string, storage: "log" | "level"): Promise<{ child: ChildProcess; pid: string }> {
  const [cmd, args] = command(["hold", dir, storage]);
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /held (\d+)\n/.exec(out);
      if (m) resolve({ child, pid: m[1]! });
      else if (/refused/.test(out)) reject(new Error(`holder refused: ${out}`));
    });
    child.stderr!.on("data", (d) => (err += d));
    child.on("exit", (code) => reject(new Error(`holder exited (${code}): ${out} ${err}`)));
  });
}

function attempt(dir: string, storage: "log" | "level"): { outcome: string; code?: string; pid: string } {
  const [cmd, args] = command(["try", dir, storage]);
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  const m = /^(opened|refused)(?: (\S+))? (\d+)$/m.exec(r.stdout);
  if (!m) throw new Error(`no answer from the child: ${r.stdout} ${r.stderr}`);
  return { outcome: m[1]!, pid: m[3]!, ...(m[1] === "refused" ? { code: m[2]! } : {}) };
}

function release(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.on("exit", () => resolve());
    child.stdin!.end();
  });
}

async function openError(store: Store, what = ""): Promise<AgentPayError> {
  const err = await store.open().catch((e: unknown) => e);
  if (!(err instanceof AgentPayError)) await store.close();
  expect(err, `open must refuse ${what}`).to.be.instanceOf(AgentPayError);
  return err as AgentPayError;
}

describe("directory lock: one writer per directory, whatever the pids", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "agentpay-dirlock-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [holder, second] of [["log", "log"], ["level", "level"], ["log", "level"], ["level", "log"]] as const) {
    it(`a second process${NAMESPACES ? " in a PID namespace of its own (the same pid as the holder)" : ""} cannot open a directory held with storage "${holder}" (tries "${second}"): STORE_LOCKED`, async () => {
      const h = await hold(dir, holder);
      try {
        const before = readdirSync(dir).sort();
        const r = attempt(dir, second);
        if (NAMESPACES) expect(r.pid, "both see the same pid").to.equal(h.pid);
        expect(r.outcome).to.equal("refused");
        expect(r.code).to.equal("STORE_LOCKED");
        // Refused before touching anything: no store of the other kind was started in the directory.
        expect(readdirSync(dir).sort()).to.deep.equal(before);
      } finally {
        await release(h.child);
      }
      expect(attempt(dir, holder).outcome).to.equal("opened");
    });
  }

  it("a holder killed with SIGKILL leaves no lock behind: the next process opens at once", async () => {
    const h = await hold(dir, "log");
    const gone = new Promise((r) => h.child.on("exit", r));
    h.child.kill("SIGKILL");
    await gone;
    // (with unshare, the namespace's init is the one killed: everything in the namespace dies)
    expect(attempt(dir, "log").outcome).to.equal("opened");
  });

  it("the same process opening the directory again through a symlink, a `..` path or the same path is refused (STORE_LOCKED), both stores", async () => {
    const other = await mkdtemp(join(tmpdir(), "agentpay-dirlock-other-"));
    try {
      symlinkSync(dir, join(other, "link"));
      mkdirSync(join(dir, "sub"));
      // `inside/..` names `dir` to the kernel, though the path text says `other`.
      symlinkSync(join(dir, "sub"), join(other, "inside"));
      const aliases = [dir, join(other, "link"), `${other}/inside/..`, `${dir}/sub/..`]; // (template strings: join would normalise `..` away)
      for (const Kind of [LogStore, LevelStore]) {
        const first = new Kind(dir);
        await first.open();
        try {
          for (const alias of aliases) {
            for (const Second of [LogStore, LevelStore]) {
              const err = await openError(new Second(alias), `${Kind.name} then ${Second.name} at ${alias}`);
              expect(err.code, `${Kind.name} then ${Second.name} at ${alias}: ${err.message}`).to.equal("STORE_LOCKED");
            }
            const pay = await AgentPay.open({ dir: alias, delivery: false, background: false }).catch((e: unknown) => e);
            if (pay instanceof AgentPay) await pay.close();
            expect((pay as AgentPayError).code).to.equal("STORE_LOCKED");
          }
        } finally {
          await first.close();
        }
        // Released on close: the directory opens again (through an alias too).
        const again = new Kind(join(other, "link"));
        await again.open();
        await again.close();
        await rm(dir, { recursive: true, force: true });
        mkdirSync(join(dir, "sub"), { recursive: true });
      }
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it("the log store appends with O_APPEND (every log file descriptor it holds)", async () => {
    const s = new LogStore(dir);
    await s.open();
    try {
      await s.write([{ type: "put", key: "a", value: "1" }]);
      const fds = readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return /log-\d+\.apl$/.test(readlinkSync(`/proc/self/fd/${fd}`)) && readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
        } catch {
          return false;
        }
      });
      expect(fds.length).to.be.at.least(1);
      for (const fd of fds) {
        const flags = parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))![1]!, 8);
        expect(flags & 0o2000, `fd ${fd} has O_APPEND`).to.equal(0o2000);
      }
    } finally {
      await s.close();
    }
  });

  describe("beside a pid-file lock (Node 20 and earlier versions write agentpay.lock)", () => {
    const opens = async (): Promise<string> => {
      const s = new LogStore(dir);
      try {
        await s.open();
      } catch (e) {
        return e instanceof AgentPayError ? e.code : String(e);
      }
      await s.close();
      return "opened";
    };

    it("a live holder's pid file refuses the directory and is left alone; once the holder is gone it is removed", async () => {
      const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
      const file = join(dir, "agentpay.lock");
      try {
        writeFileSync(file, String(sleeper.pid));
        expect(await opens()).to.equal("STORE_LOCKED");
        expect(readFileSync(file, "utf8")).to.equal(String(sleeper.pid));
      } finally {
        sleeper.kill("SIGKILL");
        await new Promise((r) => sleeper.once("exit", r));
      }
      expect(await opens()).to.equal("opened");
      expect(existsSync(file)).to.equal(false);
    });

    it("an empty pid file counts as held while fresh (its writer may not have written yet), as stale once old", async () => {
      const file = join(dir, "agentpay.lock");
      writeFileSync(file, "");
      expect(await opens()).to.equal("STORE_LOCKED");
      const old = new Date(Date.now() - 60_000);
      utimesSync(file, old, old);
      expect(await opens()).to.equal("opened");
      expect(existsSync(file)).to.equal(false);
    });
  });
});
