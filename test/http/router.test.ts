// The router that remembers parameter-free answers must answer exactly as Hono's TrieRouter does.
import { expect } from "chai";
import { TrieRouter } from "hono/router/trie-router";
import { MAX_REMEMBERED_PATHS, StaticMemoRouter } from "../../src/http/router.ts";

const ROUTES: Array<[string, string, string]> = [
  ["ALL", "/*", "common"], ["ALL", "/v1/*", "auth"],
  ["POST", "/v1/payments/redeem", "redeem"], ["POST", "/v1/payments/:paymentId/void", "void"],
  ["GET", "/v1/payments/:paymentId", "get"], ["GET", "/v1/payments", "list"],
  ["GET", "/v1/events/stream", "stream"], ["GET", "/v1/events/:eventId", "event"],
];

function both() {
  const memo = new StaticMemoRouter<string>();
  const trie = new TrieRouter<string>();
  for (const [m, p, h] of ROUTES) {
    memo.add(m, p, h);
    trie.add(m, p, h);
  }
  return { memo, trie };
}

describe("http router (TrieRouter, parameter-free answers remembered)", () => {
  it("answers every path as TrieRouter does, the first time and when remembered", () => {
    const { memo, trie } = both();
    const asked: Array<[string, string]> = [
      ["POST", "/v1/payments/redeem"], ["POST", "/v1/payments/pay_1/void"], ["POST", "/v1/payments/pay_2/void"],
      ["GET", "/v1/payments/pay_1"], ["GET", "/v1/payments/pay_2"], ["GET", "/v1/payments"], ["GET", "/v1/events/stream"],
      ["GET", "/v1/events/evt_9"], ["GET", "/nowhere"], ["DELETE", "/v1/payments/redeem"],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [m, p] of asked) expect(memo.match(m, p), `${m} ${p} (round ${round})`).to.deep.equal(trie.match(m, p));
    }
    // Remembered: the redemption, the list and the two unknown ones. Not the stream: `/v1/events/:eventId`
    // matches it too, with eventId "stream".
    expect(memo.remembered).to.equal(4);
  });

  it("gives each id its own parameters (answers with parameters are never reused)", () => {
    const { memo } = both();
    const one = memo.match("POST", "/v1/payments/pay_1/void");
    const two = memo.match("POST", "/v1/payments/pay_2/void");
    const params = (r: typeof one) => r[0].map(([, p]) => p).find((p) => Object.keys(p).length > 0);
    expect(params(one)).to.deep.equal({ paymentId: "pay_1" });
    expect(params(two)).to.deep.equal({ paymentId: "pay_2" });
  });

  it("remembers at most MAX_REMEMBERED_PATHS paths, however many unknown ones are asked", () => {
    const { memo, trie } = both();
    for (let i = 0; i < MAX_REMEMBERED_PATHS * 3; i++) {
      memo.match("GET", `/junk/${i}`);
      expect(memo.remembered).to.be.at.most(MAX_REMEMBERED_PATHS);
    }
    // Junk sent first does not keep a busy path out for good: it is remembered again.
    memo.match("POST", "/v1/payments/redeem");
    for (let i = 0; i < MAX_REMEMBERED_PATHS; i++) memo.match("POST", "/v1/payments/redeem");
    const before = memo.remembered;
    memo.match("POST", "/v1/payments/redeem");
    expect(memo.remembered).to.equal(before);
    // A long path is answered, never remembered.
    const long = `/${"x".repeat(300)}`;
    const count = memo.remembered;
    expect(memo.match("GET", long)).to.deep.equal(trie.match("GET", long));
    expect(memo.remembered).to.equal(count);
    // Still answers correctly past the bound (from the trie).
    expect(memo.match("POST", "/v1/payments/redeem")).to.deep.equal(trie.match("POST", "/v1/payments/redeem"));
    expect(memo.match("GET", "/junk/99999")).to.deep.equal(trie.match("GET", "/junk/99999"));
  });

  it("forgets what it remembered when a route is added", () => {
    const memo = new StaticMemoRouter<string>();
    memo.add("ALL", "/*", "common");
    const before = memo.match("GET", "/late");
    memo.add("GET", "/late", "late");
    expect(before[0].map(([h]) => h)).to.deep.equal(["common"]);
    expect(memo.match("GET", "/late")[0].map(([h]) => h)).to.deep.equal(["common", "late"]);
  });
});
