/**
 * The SessionStore contract, written once and run against every adapter (sqlite.test.ts,
 * postgres.test.ts): the same inputs must give the same answers, rows and events on each store.
 * Each test gets an empty store from the factory and the suite closes it afterwards.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe } from "bun:test";
import type { SessionStore } from "../../server/core/ports";
import { adminContract } from "./contract/admin";
import { createContract } from "./contract/create";
import type { ContractContext } from "./contract/fixtures";
import { flowsContract } from "./contract/flows";
import { outboxContract } from "./contract/outbox";
import { revokeContract } from "./contract/revoke";
import { rotateContract } from "./contract/rotate";

export interface StoreFactory {
  /** Once before the suite (e.g. create a database). */
  setup?(): Promise<void>;
  /** An empty store, for one test. */
  open(): Promise<SessionStore>;
  /** Once after the suite (e.g. drop the database). */
  teardown?(): Promise<void>;
  /**
   * The store's scripts write revocations and their outbox rows themselves and hand the rows to the
   * EventFactory afterwards (Redis): a failing factory then cannot undo a revocation (outbox.ts).
   */
  revocationEventsWrittenByScript?: boolean;
}

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`SessionStore contract: ${name}`, () => {
    let current: SessionStore | null = null;
    const ctx: ContractContext = {
      revocationEventsWrittenByScript: factory.revocationEventsWrittenByScript ?? false,
      get store() {
        if (!current) throw new Error("no store open");
        return current;
      },
    };

    beforeAll(async () => {
      await factory.setup?.();
    });
    afterAll(async () => {
      await factory.teardown?.();
    });
    beforeEach(async () => {
      current = await factory.open();
    });
    afterEach(async () => {
      await current?.close();
      current = null;
    });

    createContract(ctx);
    rotateContract(ctx);
    revokeContract(ctx);
    outboxContract(ctx);
    adminContract(ctx);
    flowsContract(ctx);
  });
}
