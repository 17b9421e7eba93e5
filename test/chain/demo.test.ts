import { runDemo } from "../../scripts/demo.ts";

describe("npm run demo", function () {
  this.timeout(120_000);

  it("tells its whole story, every step behaving as told (the log store, in-process chain, both sides reconciled)", async () => {
    await runDemo({ quiet: true });
  });
});
