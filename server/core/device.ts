/**
 * `device` of a session (CONTRACT §3): what its stored user agent says, read by bowser (MIT,
 * maintained; see README "Devices"). Parsing costs tens of microseconds, so each distinct user agent
 * is parsed once and remembered in a small bounded memo: GET /session/me lists many rows per
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
 * Remembers the devices of the most recently used `capacity` user agents (least recently used
 * dropped first; a Map keeps insertion order, so re-inserting on a hit is the LRU). The answers are
 * frozen because every row with that user agent shares one object.
 */
export class DeviceMemo {
  private readonly entries = new Map<string, Readonly<Device>>();

  constructor(
    readonly capacity = 1_000,
    private readonly parse: (userAgent: string) => Device = parseDevice,
  ) {}

  get(userAgent: string): Readonly<Device> {
    const hit = this.entries.get(userAgent);
    if (hit) {
      this.entries.delete(userAgent);
      this.entries.set(userAgent, hit);
      return hit;
    }
    const device = Object.freeze(this.parse(userAgent));
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(userAgent, device);
    return device;
  }

  get size(): number {
    return this.entries.size;
  }
}

const shared = new DeviceMemo();

/** The device of a stored user agent; null when none is stored (an empty one says nothing either). */
export const deviceOf = (userAgent: string | null): Readonly<Device> | null =>
  userAgent ? shared.get(userAgent) : null;
