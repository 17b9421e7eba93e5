import { expect } from "chai";
import { generateKeyPairSync, sign, verify } from "node:crypto";
import { SignatureWorker, threadPoolSignatures } from "../../src/core/index.ts";

describe("core/signatures: SignatureWorker (batched signatures on a thread of its own)", function () {
  this.timeout(60_000);
  const ed = generateKeyPairSync("ed25519");
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });

  it("signs and verifies EdDSA and ES256 (r||s) as node:crypto does; a tampered message or signature is false", async () => {
    const w = new SignatureWorker();
    try {
      const edSig = await w.sign("EdDSA", ed.privateKey, "hello é");
      expect(edSig.equals(sign(null, Buffer.from("hello é"), ed.privateKey))).to.equal(true); // Ed25519 is deterministic
      const ecSig = await w.sign("ES256", ec.privateKey, "hello");
      expect(ecSig.length).to.equal(64);
      expect(verify("sha256", Buffer.from("hello"), { key: ec.publicKey, dsaEncoding: "ieee-p1363" }, ecSig)).to.equal(true);
      expect(await w.verify("EdDSA", ed.publicKey, "hello é", edSig)).to.equal(true);
      expect(await w.verify("ES256", ec.publicKey, "hello", ecSig)).to.equal(true);
      expect(await w.verify("EdDSA", ed.publicKey, "hello e", edSig)).to.equal(false);
      const bad = Buffer.from(edSig);
      bad[0] = bad[0]! ^ 1;
      expect(await w.verify("EdDSA", ed.publicKey, "hello é", bad)).to.equal(false);
      expect(await w.verify("ES256", ec.publicKey, "hello", Buffer.alloc(3))).to.equal(false); // malformed: false, not a throw
      expect(await w.verify("EdDSA", ec.publicKey, "hello", ecSig)).to.equal(false); // wrong kind of key
      await w.sign("EdDSA", ed.publicKey, "x").then(() => expect.fail("signed with a public key"), (e: unknown) => expect(e).to.be.instanceOf(Error));
    } finally {
      await w.close();
    }
  });

  it("answers 2,000 concurrent jobs over many batches, each with its own result, in any order of keys", async () => {
    const w = new SignatureWorker();
    try {
      const keys = Array.from({ length: 5 }, () => generateKeyPairSync("ed25519"));
      const jobs = Array.from({ length: 2_000 }, (_, i) => {
        const k = keys[i % keys.length]!;
        const msg = `message ${i}`;
        return i % 2 === 0
          ? w.sign("EdDSA", k.privateKey, msg).then((s) => verify(null, Buffer.from(msg), k.publicKey, s))
          : w.verify("EdDSA", k.publicKey, msg, sign(null, Buffer.from(i % 4 === 1 ? msg : `${msg}!`), k.privateKey)).then((ok) => ok === (i % 4 === 1));
      });
      expect((await Promise.all(jobs)).every(Boolean)).to.equal(true);
    } finally {
      await w.close();
    }
  });

  it("keeps working past its key cache's limit (keys are sent again after the thread forgets them)", async () => {
    const w = new SignatureWorker();
    try {
      const keys = Array.from({ length: 4_200 }, () => generateKeyPairSync("ed25519"));
      const first = keys[0]!;
      const ok = await Promise.all(keys.map((k, i) => w.sign("EdDSA", k.privateKey, `m${i}`).then((s) => verify(null, Buffer.from(`m${i}`), k.publicKey, s))));
      expect(ok.every(Boolean)).to.equal(true);
      // A key from before the reset is announced again on its next use.
      const s = await w.sign("EdDSA", first.privateKey, "again");
      expect(verify(null, Buffer.from("again"), first.publicKey, s)).to.equal(true);
    } finally {
      await w.close();
    }
  });

  it("after close, jobs go to the thread pool and still give the right answers", async () => {
    const w = new SignatureWorker();
    await w.sign("EdDSA", ed.privateKey, "start the thread");
    await w.close();
    const s = await w.sign("EdDSA", ed.privateKey, "later");
    expect(s.equals(await threadPoolSignatures.sign("EdDSA", ed.privateKey, "later"))).to.equal(true);
    expect(await w.verify("EdDSA", ed.publicKey, "later", s)).to.equal(true);
  });

  it("jobs queued or out when it closes are answered by the thread pool, never reported invalid", async () => {
    const w = new SignatureWorker();
    const sig = sign(null, Buffer.from("m"), ed.privateKey);
    await w.verify("EdDSA", ed.publicKey, "m", sig); // the thread is up
    const out = Array.from({ length: 100 }, () => w.verify("EdDSA", ed.publicKey, "m", sig)); // queued, some flushed
    const signed = w.sign("EdDSA", ed.privateKey, "m");
    await new Promise((r) => setImmediate(r)); // the first batch is on its way
    const late = w.verify("EdDSA", ed.publicKey, "m", sig);
    await w.close();
    expect(await Promise.all([...out, late])).to.satisfy((xs: boolean[]) => xs.every((x) => x === true));
    expect((await signed).equals(sig)).to.equal(true);
  });

  it("a job that cannot be sent fails alone: the others in its batch, and its keys, keep working", async () => {
    const w = new SignatureWorker();
    try {
      const k2 = generateKeyPairSync("ed25519");
      const sig = sign(null, Buffer.from("m"), k2.privateKey);
      const bad = w.verify("EdDSA", k2.publicKey, (() => "m") as never, sig); // not cloneable
      const good = w.verify("EdDSA", k2.publicKey, "m", sig); // same batch, key first announced in it
      expect(await bad).to.equal(false);
      expect(await good).to.equal(true);
      expect(await w.verify("EdDSA", k2.publicKey, "m", sig)).to.equal(true); // the key is sent again
      expect(verify(null, Buffer.from("x"), k2.publicKey, await w.sign("EdDSA", k2.privateKey, "x"))).to.equal(true);
    } finally {
      await w.close();
    }
  });
});
