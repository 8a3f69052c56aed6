/**
 * `device` of a session (CONTRACT §3): what its stored user agent says, read by bowser (MIT,
 * maintained; see README "Devices"). Parsing costs tens of microseconds, so each distinct user agent
 * is parsed once and remembered in a small bounded memo: GET /session/me lists several rows per
 * request, and most rows of a deployment share a handful of user agents.
 */
import Bowser from "bowser";

export type DeviceType = "desktop" | "mobile" | "tablet" | "other";

export interface Device {
  browser: string | null;
  browser_version: string | null;
  os: string | null;
  os_version: string | null;
  type: DeviceType;
}

/** bowser's platform types that the contract names; tv, bot and unknown are all `other`. */
const TYPES: Record<string, DeviceType> = { desktop: "desktop", mobile: "mobile", tablet: "tablet" };

/** bowser answers "" or undefined for what it did not find; the contract says null. */
const known = (text: string | undefined) => (text ? text : null);

/** One parse, uncached. */
export function parseDevice(userAgent: string): Device {
  const { browser, os, platform } = Bowser.parse(userAgent);
  return {
    browser: known(browser.name),
    browser_version: known(browser.version),
    os: known(os.name),
    os_version: known(os.version),
    type: TYPES[platform.type ?? ""] ?? "other",
  };
}

/**
 * Remembers the devices of recently used user agents in two generations (as quick-lru does): a hit
 * in the current one is a single Map lookup, the hot path of /session/me; a hit in the previous one
 * moves the entry into the current one; when the current one holds `generation` entries it becomes
 * the previous one and the oldest is dropped whole. So at most 2 × `generation` user agents are
 * kept, and one used within the last `generation` distinct user agents is never parsed again.
 * The answers are frozen because every row with that user agent shares one object.
 */
export class DeviceMemo {
  private current = new Map<string, Readonly<Device>>();
  private previous = new Map<string, Readonly<Device>>();

  constructor(
    readonly generation = 500,
    private readonly parse: (userAgent: string) => Device = parseDevice,
  ) {}

  get(userAgent: string): Readonly<Device> {
    const hit = this.current.get(userAgent);
    if (hit) return hit;
    const device = this.previous.get(userAgent) ?? Object.freeze(this.parse(userAgent));
    if (this.current.size >= this.generation) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(userAgent, device);
    return device;
  }

  /** User agents remembered now (at most 2 × generation). */
  get size(): number {
    let size = this.current.size;
    for (const key of this.previous.keys()) if (!this.current.has(key)) size++;
    return size;
  }
}

const shared = new DeviceMemo();

/** The device of a stored user agent; null when none is stored (an empty one says nothing either). */
export const deviceOf = (userAgent: string | null): Readonly<Device> | null =>
  userAgent ? shared.get(userAgent) : null;
