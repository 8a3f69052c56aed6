/**
 * Names of the keys the TypeScript side reads or writes directly. The Lua scripts build the same
 * names in lua/prelude.lua; the two lists must agree (README-redis.md has the whole layout).
 */
export const DEFAULT_PREFIX = "sessions:";

export function keysOf(prefix: string) {
  return {
    session: (id: string) => `${prefix}s:${id}`,
    /** The user's live set: unrevoked sessions by last_used_at. */
    live: (userId: string) => `${prefix}ul:${userId}`,
    sent: `${prefix}ob:sent`,
    signingKeys: `${prefix}keys`,
    clients: `${prefix}clients`,
    clientsByHash: `${prefix}clients:h`,
    /** The data layout version (server-checks.ts). */
    layout: `${prefix}layout`,
    /** Written by checkWritable. */
    probe: `${prefix}probe`,
  };
}

export type Keys = ReturnType<typeof keysOf>;
