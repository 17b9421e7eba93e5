// Which addresses a webhook may reach (SSRF): merchants choose webhook URLs and the server fetches
// them, so by default nothing private, loopback, link-local, multicast or otherwise special is
// reachable, however the URL spells it and whatever its DNS says.
import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { AgentPayError } from "../core/index.ts";

export interface ResolvedAddress {
  address: string;
  /** 4 or 6. */
  family: number;
}

/**
 * Resolves a host name to ALL its addresses (default: node:dns `lookup`, as the OS resolves, /etc/hosts
 * included). `signal` aborts when the attempt gives up.
 */
export type HostLookup = (hostname: string, signal: AbortSignal) => Promise<readonly ResolvedAddress[]>;

/**
 * node:dns `lookup` runs getaddrinfo on libuv's thread pool (4 threads by default), which file I/O,
 * the store's writes included, shares: a slow resolver must not hold all of it. At most this many
 * lookups run at once in the process; the others wait (until their attempt gives up).
 */
const MAX_SYSTEM_LOOKUPS = 2;
let systemLookups = 0;
const lookupQueue: Array<() => void> = [];

export const systemLookup: HostLookup = async (hostname, signal) => {
  if (systemLookups >= MAX_SYSTEM_LOOKUPS) {
    await new Promise<void>((resolve, reject) => {
      const go = (): void => {
        signal.removeEventListener("abort", giveUp);
        resolve();
      };
      const giveUp = (): void => {
        const i = lookupQueue.indexOf(go);
        if (i >= 0) lookupQueue.splice(i, 1);
        reject(signal.reason);
      };
      lookupQueue.push(go);
      signal.addEventListener("abort", giveUp, { once: true });
    });
  }
  systemLookups += 1;
  try {
    return await dnsLookup(hostname, { all: true });
  } finally {
    systemLookups -= 1;
    lookupQueue.shift()?.();
  }
};

/** IPv4 ranges refused by default: IANA's special-purpose registry (RFC 6890 and later), none globally reachable. */
const REFUSED_V4: ReadonlyArray<readonly [string, number]> = [
  ["0.0.0.0", 8], // "this network"; 0.0.0.0 reaches the local host
  ["10.0.0.0", 8], // private (RFC 1918)
  ["100.64.0.0", 10], // shared address space, carrier-grade NAT (RFC 6598)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, where cloud metadata services answer (RFC 3927)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation (TEST-NET-1)
  ["192.88.99.0", 24], // 6to4 relay anycast (deprecated, RFC 7526)
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking (RFC 2544)
  ["198.51.100.0", 24], // documentation (TEST-NET-2)
  ["203.0.113.0", 24], // documentation (TEST-NET-3)
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, and the broadcast address
];

/** IPv6 ranges refused by default. */
const REFUSED_V6: ReadonlyArray<readonly [string, number]> = [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["100::", 64], // discard-only (RFC 6666)
  ["2001::", 23], // IETF protocol assignments: Teredo (embeds a client address), ORCHID, benchmarking, …
  ["2001:db8::", 32], // documentation
  ["64:ff9b:1::", 48], // local-use IPv4/IPv6 translation (RFC 8215)
  ["fc00::", 7], // unique local (RFC 4193)
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated, still routed by some stacks)
  ["ff00::", 8], // multicast
];

/** "a.b.c.d" → "aabb:ccdd", for IPv6 forms that carry an IPv4 address in their low or 6to4 bits. */
function v4Hex(v4: string): string {
  const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

function refusedList(): BlockList {
  const list = new BlockList();
  for (const [net, bits] of REFUSED_V4) {
    list.addSubnet(net, bits, "ipv4");
    // The same IPv4 range inside the IPv6 forms that embed an IPv4 address: IPv4-mapped (::ffff:0:0/96),
    // IPv4-compatible (::/96), IPv4-translated (::ffff:0:0:0/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
    const hex = v4Hex(net);
    for (const prefix of ["::ffff:", "::", "::ffff:0:", "64:ff9b::"]) list.addSubnet(`${prefix}${hex}`, 96 + bits, "ipv6");
    list.addSubnet(`2002:${hex}::`, 16 + bits, "ipv6");
  }
  for (const [net, bits] of REFUSED_V6) list.addSubnet(net, bits, "ipv6");
  return list;
}

const REFUSED = refusedList();
const MAX_ALLOWED_NETWORKS = 64;

/** The bare address of a URL host: `[::1]` → `::1`. */
export function bareHost(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

/** `localhost`, `localhost.` and names under `.localhost` (RFC 6761: they always mean this machine). */
function isLocalhostName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, "");
  return h === "localhost" || h.endsWith(".localhost");
}

export interface WebhookAddressPolicyOptions {
  /** Lets webhooks reach any address, private or special (development, tests, a trusted network). Default false. */
  allowPrivateNetworks?: boolean;
  /** Addresses or CIDR ranges allowed although they are in a refused range, e.g. `["10.20.0.0/16", "fd00:1::/64"]`. At most 64. */
  allowedNetworks?: readonly string[];
}

function badNetworks(message: string): AgentPayError {
  return new AgentPayError("INVALID_INPUT", message, { field: "allowedNetworks" });
}

/** Which addresses a webhook may be sent to. */
export class WebhookAddressPolicy {
  readonly allowPrivateNetworks: boolean;
  readonly #allowed: BlockList | undefined;

  constructor(options: WebhookAddressPolicyOptions = {}) {
    if (options === null || typeof options !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
    const allowPrivate = options.allowPrivateNetworks ?? false;
    if (typeof allowPrivate !== "boolean") {
      throw new AgentPayError("INVALID_INPUT", "allowPrivateNetworks must be a boolean", { field: "allowPrivateNetworks" });
    }
    this.allowPrivateNetworks = allowPrivate;
    const nets = options.allowedNetworks;
    if (nets === undefined) return;
    if (!Array.isArray(nets) || nets.length > MAX_ALLOWED_NETWORKS) throw badNetworks(`allowedNetworks must be an array of at most ${MAX_ALLOWED_NETWORKS}`);
    this.#allowed = new BlockList();
    for (const n of nets) {
      const m = typeof n === "string" ? /^([^/]{1,64})(?:\/(\d{1,3}))?$/.exec(n) : null;
      const family = m ? isIP(m[1]!) : 0;
      const bits = m?.[2] === undefined ? (family === 4 ? 32 : 128) : Number(m[2]);
      if (!m || family === 0 || m[1]!.includes("%") || bits > (family === 4 ? 32 : 128)) {
        throw badNetworks("allowedNetworks entries must be IP addresses or CIDR ranges such as 10.0.0.0/8 or fd00::/8");
      }
      this.#allowed.addSubnet(m[1]!, bits, family === 4 ? "ipv4" : "ipv6");
    }
  }

  /** Whether a webhook may connect to `address` (an IP address; anything else is refused). */
  allows(address: string): boolean {
    if (this.allowPrivateNetworks) return true;
    const family = isIP(address);
    // A scoped address (fe80::1%eth0) is link-local by nature, and BlockList would not match it.
    if (family === 0 || address.includes("%")) return false;
    const type = family === 4 ? "ipv4" : "ipv6";
    if (this.#allowed?.check(address, type)) return true;
    return !REFUSED.check(address, type);
  }

  /**
   * Without resolving anything: whether a URL host is refused as written, i.e. a literal address
   * this policy refuses, or a localhost name (while private networks are not allowed). A name
   * may still resolve to a refused address: that is checked at delivery.
   */
  refusesHost(hostname: string): boolean {
    const host = bareHost(hostname);
    if (isIP(host) !== 0) return !this.allows(host);
    return !this.allowPrivateNetworks && isLocalhostName(host);
  }
}

/** Thrown by `resolveHost` when the name has no usable address. */
export class NoAddressError extends Error {
  override name = "NoAddressError";
}

/**
 * A URL host's addresses: the literal itself, or every address the lookup returns (checked to be
 * IP addresses). Gives up when `signal` aborts (a lookup cannot be cancelled; it is left to finish).
 */
export async function resolveHost(hostname: string, lookup: HostLookup, signal: AbortSignal): Promise<ResolvedAddress[]> {
  const host = bareHost(hostname);
  const literal = isIP(host);
  if (literal !== 0) return [{ address: host, family: literal }];
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  let found: readonly ResolvedAddress[];
  try {
    found = await Promise.race([lookup(host, signal), aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort!);
  }
  const out: ResolvedAddress[] = [];
  if (Array.isArray(found)) {
    for (const a of found) {
      const family = typeof a?.address === "string" ? isIP(a.address) : 0;
      // Unusable entries count as refused addresses, never as "skip it".
      out.push({ address: family === 0 ? "invalid" : a.address, family });
    }
  }
  if (out.length === 0) throw new NoAddressError("no address");
  return out;
}
