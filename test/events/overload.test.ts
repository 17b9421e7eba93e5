// A delivery whose claim is refused with ENGINE_OVERLOADED backs off by baseDelayMs instead of
// retrying at once (a tight loop against an engine that is already full).
import { expect } from "chai";
import { Engine, MemoryStore } from "../../src/engine/index.ts";
import type { Store } from "../../src/engine/index.ts";
import { appendEvent, EventDeliverer } from "../../src/events/index.ts";
import { waitFor } from "./helpers.ts";

describe("events: an overloaded engine", () => {
  it("a refused claim waits baseDelayMs before the next try, and the event is delivered once there is room", async () => {
    const mem = new MemoryStore();
    let open = true;
    let release: () => void = () => {};
    // Writes wait while the gate is shut, so commands pile up in the engine's bounded queue.
    const store: Store = {
      open: () => mem.open(), entries: () => mem.entries(), close: () => mem.close(),
      write: (ops) => {
        const done = mem.write(ops);
        return open ? done : new Promise<void>((r) => (release = r)).then(() => done);
      },
    };
    const engine = Engine.create({ store, maxQueue: 4 });
    const deliverer = new EventDeliverer(engine, { baseDelayMs: 50, maxDelayMs: 50, pollMs: 10, timeoutMs: 2_000 });
    await engine.load();
    const ev = await engine.submit((tx) => appendEvent(tx, { type: "payment.authorized", data: {}, destinations: [{ kind: "topic", topic: "t" }] }));
    const got: string[] = [];
    deliverer.subscribe((e) => void got.push(e.id));

    // Shut the gate: one batch stuck writing, then four commands fill the queue behind it.
    open = false;
    const fillers = [engine.submit((tx) => tx.put("f/0", 0))];
    await new Promise((r) => setImmediate(r));
    for (let i = 1; i <= 4; i++) fillers.push(engine.submit((tx) => tx.put(`f/${i}`, i)));
    const full = await engine.submit((tx) => tx.put("f/x", 1)).catch((e: unknown) => e);
    expect(full).to.have.property("code", "ENGINE_OVERLOADED");
    let submits = 0;
    const submit = engine.submit.bind(engine);
    engine.submit = ((cmd: never) => {
      submits += 1;
      return submit(cmd);
    }) as typeof engine.submit;
    deliverer.start();
    await new Promise((r) => setTimeout(r, 230));
    // About one try per 50 ms while full (a tight loop would make thousands).
    expect(submits).to.be.within(1, 8);
    expect(got).to.deep.equal([]);

    open = true;
    release();
    await Promise.all(fillers);
    await waitFor(() => got.length === 1, "delivered after the queue drained");
    expect(got).to.deep.equal([ev.id]);
    await deliverer.stop();
    await engine.close();
  });
});
