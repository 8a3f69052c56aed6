/**
 * Every store call sends its statement once. A Drizzle query builder is a lazy thenable that runs
 * its statement on every then/catch; the call deadline (database.ts withDeadline) once attached a
 * catch to the builder itself, so each such call ran twice: the relay marked every outbox row sent
 * twice (twice the WAL), key and client reloads read twice, a new signing key was inserted twice.
 * Counted on the wire (bench/pg-wire-counter.ts) after the store closed, which waits for every
 * statement in flight.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import type { SQL } from "bun";
import { countsBetween } from "../../bench/pg-wire-counter";
import { openPostgresStore } from "../../db/postgres/store";
import { type CountedTestDatabase, countedTestDatabase } from "../support/postgres";

setDefaultTimeout(30_000);

let pg: CountedTestDatabase;
let direct: SQL;

beforeAll(async () => {
  pg = await countedTestDatabase();
  // Migrated once, so the opens below run no migration.
  await (await openPostgresStore({ url: pg.database.url })).close();
  direct = pg.database.connect();
});

afterAll(async () => {
  await direct?.close();
  await pg?.close();
});

type Store = Awaited<ReturnType<typeof openPostgresStore>>;

/**
 * Statements a store call sent, counted from before it until the store closed. `warm` runs the
 * same statement first: its first run on a connection also prepares it (a Sync of its own).
 */
async function statementsOf(warm: (store: Store) => Promise<unknown>, call: (store: Store) => Promise<unknown>) {
  const store = await openPostgresStore({ url: pg.url });
  await warm(store);
  const before = pg.counter.snapshot();
  await call(store);
  await store.close();
  return countsBetween(before, pg.counter.snapshot()).syncs;
}

test("marking outbox rows sent is one UPDATE, sent once", async () => {
  await direct`insert into outbox (id, subject, payload, created_at) values ('e1', 's', '{}', 1), ('e2', 's', '{}', 1)`;
  expect(
    await statementsOf(
      (store) => store.outbox.markEventsSent(["w1", "w2"], 5),
      (store) => store.outbox.markEventsSent(["e1", "e2"], 5),
    ),
  ).toBe(1);
  const sent = await direct`select id from outbox where sent_at = 5 order by id`;
  expect(sent.map((r: { id: string }) => r.id)).toEqual(["e1", "e2"]);
});

test("reading the signing keys is one SELECT", async () => {
  expect(
    await statementsOf(
      (store) => store.signingKeys.listSigningKeys(),
      (store) => store.signingKeys.listSigningKeys(),
    ),
  ).toBe(1);
});
