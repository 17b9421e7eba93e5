// The router of docs/SCALING.md, as bench:shards uses it: a wallet id hashes to one of 4,096
// buckets, and a directory maps buckets to shards (moving a shard's load = reassigning buckets).
// Every sub-wallet routes by its wallet's id, so a payment touches one shard.

export const BUCKETS = 4_096;

/** FNV-1a, 32 bits, over the id's UTF-16 code units (ids are ASCII). */
export function bucketOf(walletId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < walletId.length; i++) h = Math.imul(h ^ walletId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % BUCKETS;
}

const directories = new Map<number, Uint16Array>();

/** The directory for `shards` shards: buckets dealt out in turn (an operator would rebalance it). */
function directory(shards: number): Uint16Array {
  let d = directories.get(shards);
  if (!d) {
    d = new Uint16Array(BUCKETS);
    for (let b = 0; b < BUCKETS; b++) d[b] = b % shards;
    directories.set(shards, d);
  }
  return d;
}

export function shardOf(walletId: string, shards: number): number {
  return directory(shards)[bucketOf(walletId)]!;
}
