/** Types for the two files of oidc-provider that the benchmark imports beyond its public entry. */
declare module "oidc-provider/lib/helpers/lru.js" {
  export default class LRU {
    constructor(options: { maxSize: number });
    get(key: string): unknown;
    set(key: string, value: unknown, options?: { maxAge?: number }): this;
    delete(key: string): boolean;
  }
}

declare module "oidc-provider/lib/adapters/memory_adapter.js" {
  import type { Adapter } from "oidc-provider";
  import type LRU from "oidc-provider/lib/helpers/lru.js";
  export default class MemoryAdapter implements Adapter {
    constructor(model: string, store?: LRU, clockTolerance?: number);
    upsert: Adapter["upsert"];
    find: Adapter["find"];
    findByUid: Adapter["findByUid"];
    findByUserCode: Adapter["findByUserCode"];
    consume: Adapter["consume"];
    destroy: Adapter["destroy"];
    revokeByGrantId: Adapter["revokeByGrantId"];
  }
}
