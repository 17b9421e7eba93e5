// The crypto floor of a payment: what node:crypto alone reaches doing one Ed25519 sign and two
// verifies per payment on one core. Imported by bench:payments; run directly
// (`node scripts/bench/crypto-floor.ts <seconds>`) it prints payments/s, which is how
// bench:payments measures it pinned to each CPU in turn.
import { generateKeyPairSync, sign, verify } from "node:crypto";
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";

export function cryptoFloor(seconds: number): number {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const msg = Buffer.alloc(300, 7);
  const sig = sign(null, msg, privateKey);
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) {
      sign(null, msg, privateKey); // the issuer signs the token
      verify(null, msg, publicKey, sig); // the agent's intent is verified
      verify(null, msg, publicKey, sig); // the merchant's token is verified at redemption
    }
    n += 50;
  }
  return n / ((performance.now() - start) / 1000);
}

/**
 * The floor on each CPU, pinned with taskset (these virtual CPUs do not always run at the same
 * speed), and the best of them: the strictest yardstick. Without taskset, one unpinned run.
 */
export function cryptoFloorPerCpu(seconds: number): { best: number; perCpu: number[] } {
  const self = fileURLToPath(import.meta.url);
  const perCpu: number[] = [];
  for (let cpu = 0; cpu < cpus().length; cpu++) {
    try {
      perCpu.push(Number(execFileSync("taskset", ["-c", String(cpu), process.execPath, self, String(seconds)], { encoding: "utf8" }).trim()));
    } catch {
      perCpu.length = 0;
      break;
    }
  }
  if (perCpu.length === 0 || perCpu.some((x) => !Number.isFinite(x))) {
    const r = cryptoFloor(seconds * 2);
    return { best: r, perCpu: [] };
  }
  return { best: Math.max(...perCpu), perCpu };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${cryptoFloor(Number(process.argv[2] ?? 3)).toFixed(0)}\n`);
