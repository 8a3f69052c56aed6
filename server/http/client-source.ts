/**
 * Who sent a request, for the brute-force limiter: the socket's peer address, or — only when that
 * peer is one of the TRUSTED_PROXIES — the right-most X-Forwarded-For hop that is not itself a
 * trusted proxy (each proxy appends the address it saw, so everything to the left of the last
 * trusted hop is whatever the client wrote). Nothing a client writes in a body or in a header a
 * trusted proxy did not append is ever believed.
 *
 * IPv6 sources count per /64: one host usually holds a whole /64, and counting its 2^64 addresses
 * one by one would let it guess without limit.
 */
import { BlockList, isIPv4, isIPv6 } from "node:net";
import type { TrustedRange } from "../config";

interface PeerLookup {
  requestIP(request: Request): { address: string } | null;
}

/**
 * The socket peer of a request. Bun knows it for the Request objects it created, and only when
 * asked (a lookup costs about 1 µs, so it is made only for the requests the limiter looks at);
 * a request rebuilt from one Bun received (request-url.ts, serve.ts) is told its peer, and so is a
 * request a test hands to app.handle.
 */
export class PeerAddresses {
  private readonly told = new WeakMap<Request, string>();
  private server: PeerLookup | null = null;

  /** The listening server, which knows the peer of each request it received. */
  listen(server: PeerLookup): void {
    this.server = server;
  }

  set(request: Request, address: string | undefined): void {
    if (address) this.told.set(request, address);
  }

  of(request: Request): string | undefined {
    return this.told.get(request) ?? this.server?.requestIP(request)?.address;
  }
}

/** How many X-Forwarded-For hops are looked at, right to left: a chain of proxies is short. */
const MAX_HOPS = 32;
const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/;

/** "1.2.3.4:5678" and "[2001:db8::1]:443" (how some proxies write hops) without the port. */
function withoutPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return bracketed[1];
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4WithPort ? v4WithPort[1] : hop;
}

/** The limiter's key for an address: IPv4 as is, IPv6 by its /64, anything else cut to 64 characters. */
export function sourceKey(address: string): string {
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return `?${address.slice(0, 64)}`;
  const lower = address.toLowerCase();
  const mapped = MAPPED_IPV4.exec(lower);
  if (mapped) return mapped[1];
  const [head, tail] = lower.split("::");
  const first = head ? head.split(":") : [];
  const last = tail === undefined ? [] : tail ? tail.split(":") : [];
  // An embedded IPv4 tail (::ffff:0:1.2.3.4, 64:ff9b::1.2.3.4) stands for two groups.
  const width = (parts: string[]) => parts.reduce((n, part) => n + (part.includes(".") ? 2 : 1), 0);
  const groups = tail === undefined ? first : [...first, ...Array(8 - width(first) - width(last)).fill("0"), ...last];
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(":")}::/64`;
}

export class ClientSource {
  private readonly trusted: BlockList | null;

  constructor(
    ranges: TrustedRange[],
    private readonly peers: PeerAddresses,
  ) {
    if (ranges.length === 0) {
      this.trusted = null;
      return;
    }
    this.trusted = new BlockList();
    for (const range of ranges) this.trusted.addSubnet(range.address, range.prefix, range.family);
  }

  private isTrusted(address: string): boolean {
    const family = isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : null;
    return family !== null && this.trusted?.check(address, family) === true;
  }

  /** The limiter key of the request's client. */
  of(request: Request): string {
    const peer = this.peers.of(request);
    if (peer === undefined) return "unknown";
    if (!this.trusted || !this.isTrusted(peer)) return sourceKey(peer);
    const hops = (request.headers.get("x-forwarded-for") ?? "")
      .split(",")
      .slice(-MAX_HOPS)
      .map((hop) => withoutPort(hop.trim()))
      .filter((hop) => hop !== "");
    for (let i = hops.length - 1; i >= 0; i--) {
      if (!this.isTrusted(hops[i])) return sourceKey(hops[i]);
    }
    // Every hop is a trusted proxy (or there is none): the left-most is the best there is.
    return sourceKey(hops[0] ?? peer);
  }
}
