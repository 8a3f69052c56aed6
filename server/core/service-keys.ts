/**
 * Service keys of internal callers. Only HMACs are kept: those of SERVICE_KEYS in memory, those
 * added with `sessionctl clients add` in the store, looked up on every call so that adding or
 * removing a client takes effect at once in every instance.
 */
import type { ServiceClientRepository } from "./ports";
import { constantTimeEqual, keyedHash } from "./secrets";

/**
 * The store client of the key a server generates on its first start (./data/service.key) when
 * nothing else grants access. It is for trying the service out: adding a real client removes it,
 * and a server configured with SERVICE_KEYS does not accept it (issue 12, finding 10).
 */
export const GENERATED_CLIENT = "default";

export class ServiceKeys {
  private readonly configured: Array<{ name: string; hash: string }>;

  constructor(
    private readonly store: ServiceClientRepository,
    private readonly hashKey: Buffer,
    configured: Map<string, string>,
  ) {
    this.configured = [...configured].map(([name, secret]) => ({ name, hash: this.hash(secret) }));
  }

  hash(secret: string): string {
    return keyedHash(this.hashKey, secret);
  }

  /**
   * The client's name, or null. Compares against every configured key in constant time; only a
   * key that is not configured is looked up in the store (the one case that returns a promise:
   * this runs on every internal request, and most callers use a configured key).
   */
  authenticate(secret: string): string | Promise<string | null> {
    const hash = this.hash(secret);
    let name: string | null = null;
    for (const entry of this.configured) if (constantTimeEqual(entry.hash, hash)) name = entry.name;
    if (name) return name;
    return this.store.findServiceClientByHash(hash).then((client) => {
      if (!client || (client.name === GENERATED_CLIENT && this.configured.length > 0)) return null;
      return client.name;
    });
  }
}
