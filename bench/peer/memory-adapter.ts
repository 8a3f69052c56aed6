/**
 * The peer's "memory" configuration: oidc-provider's own MemoryAdapter class (its default store,
 * meant for development) on its own LRU map. The default instance caps that map at 1,000 entries
 * and would evict the benchmark's seeded tokens; here the same LRU class gets room for 10,000,000,
 * so nothing is evicted during a run. Nothing else differs from the default.
 */
import type { AdapterFactory } from "oidc-provider";
import MemoryAdapter from "oidc-provider/lib/adapters/memory_adapter.js";
import LRU from "oidc-provider/lib/helpers/lru.js";

const CAPACITY = 10_000_000;

export function memoryAdapter(): AdapterFactory {
  const store = new LRU({ maxSize: CAPACITY });
  return (model) => new MemoryAdapter(model, store);
}
