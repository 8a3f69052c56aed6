/**
 * The capacity benchmark's PostgreSQL wire counter (bench/pg-wire-counter.ts): its parser splits
 * the client's byte stream into messages wherever TCP cuts it, and in front of the real server it
 * counts a lone statement as one round trip, a transaction's sequential statements one each, and
 * statements pipelined together as one.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { SQL } from "bun";
import { countsBetween, FrontendParser } from "../../bench/pg-wire-counter";
import { type CountedTestDatabase, countedTestDatabase } from "../support/postgres";

setDefaultTimeout(30_000);

/** A frontend message: type letter, int32 length (itself included), body. */
function message(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

function startup(): Uint8Array {
  const params = new TextEncoder().encode("user\0postgres\0\0");
  const out = new Uint8Array(8 + params.length);
  new DataView(out.buffer).setInt32(0, out.length);
  new DataView(out.buffer).setInt32(4, 196608);
  out.set(params, 8);
  return out;
}

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe("FrontendParser", () => {
  const stream = concat([
    startup(),
    message("Q", new TextEncoder().encode("select 1\0")),
    message("P", new Uint8Array(40)),
    message("B", new Uint8Array(3)),
    message("E", new Uint8Array(5)),
    message("S", new Uint8Array(0)),
  ]);
  const expected = ["startup", "Q", "P", "B", "E", "S"];

  test("reads every message of a stream sent at once", () => {
    expect(new FrontendParser().feed(stream)).toEqual(expected);
  });

  test("reads the same messages whatever chunks TCP delivers", () => {
    for (const size of [1, 2, 3, 7, 13]) {
      const parser = new FrontendParser();
      const types: string[] = [];
      for (let at = 0; at < stream.length; at += size) types.push(...parser.feed(stream.slice(at, at + size)));
      expect(types).toEqual(expected);
    }
  });
});

describe("the counter in front of PostgreSQL", () => {
  let pg: CountedTestDatabase;
  let sql: SQL;

  beforeAll(async () => {
    pg = await countedTestDatabase();
    sql = new SQL({ url: pg.url, max: 1 });
    await sql`select 1`; // connected and authenticated before anything is counted
  });

  afterAll(async () => {
    await sql?.close();
    await pg?.close();
  });

  const counted = async (work: () => Promise<unknown>) => {
    const before = pg.counter.snapshot();
    await work();
    return countsBetween(before, pg.counter.snapshot());
  };

  test("a lone statement is one round trip", async () => {
    const c = await counted(() => sql`select 1`);
    expect([c.roundTrips, c.syncs]).toEqual([1, 1]);
  });

  test("a transaction's sequential statements are one round trip each", async () => {
    const c = await counted(() =>
      sql.begin(async (tx) => {
        await tx`select 1`;
        await tx`select 2`;
      }),
    );
    // BEGIN, select, select, COMMIT
    expect([c.roundTrips, c.syncs]).toEqual([4, 4]);
  });

  test("statements pipelined together are one round trip", async () => {
    const pipelined = () => sql.begin((tx) => Promise.all([1, 2, 3].map((i) => tx`select ${i}::int as n`)));
    // The first run also prepares the statement on the connection (Parse, Describe: a turn of its own).
    await pipelined();
    const c = await counted(pipelined);
    // BEGIN, the three selects together, COMMIT
    expect([c.roundTrips, c.syncs]).toEqual([3, 5]);
  });
});
