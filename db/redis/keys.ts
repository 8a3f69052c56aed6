/**
 * Names of the keys the TypeScript side reads or writes directly. The Lua scripts build the same
 * names in lua/prelude.lua; the two lists must agree (README-redis.md has the whole layout).
 */
export const DEFAULT_PREFIX = "sessions:";

export function keysOf(prefix: string) {
  return {
    session: (id: string) => `${prefix}s:${id}`,
    deletedUser: (userId: string) => `${prefix}ud:${userId}`,
    sent: `${prefix}ob:sent`,
    signingKeys: `${prefix}keys`,
    retiredKeys: `${prefix}keys:retired`,
    clients: `${prefix}clients`,
    clientsByHash: `${prefix}clients:h`,
    /** The data layout version this code writes. */
    layout: `${prefix}layout`,
    /** Written by checkWritable. */
    probe: `${prefix}probe`,
  };
}

export type Keys = ReturnType<typeof keysOf>;
