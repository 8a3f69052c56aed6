/**
 * What PostgreSQL did, read on a connection of its own (not through the wire counter): WAL bytes
 * from the insert position, durable commits as transaction ids handed out (only a transaction
 * that writes gets one, and with synchronous_commit=on its COMMIT waits for the WAL flush),
 * fsyncs from pg_stat_wal, rows from pg_stat_user_tables, and relation sizes.
 *
 * WAL positions and xids are immediate; the pg_stat_* counters are flushed by each backend when
 * it goes idle, at most once a second and at the latest 10 s later, so a caller waits STATS_FLUSH_MS
 * before reading them after a phase.
 */
import { SQL } from "bun";

export const STATS_FLUSH_MS = 11_000;

export interface TableRows {
  inserted: number;
  updated: number;
  hotUpdated: number;
  deleted: number;
}

/** The pg_stat_* counters a snapshot reads and a delta subtracts. */
interface StatCounters {
  walRecords: number;
  walFullPageImages: number;
  walSyncs: number;
  walWrites: number;
  /** Commits of every transaction, read-only ones included. */
  xactCommits: number;
  tables: Record<string, TableRows>;
}

export interface PgSnapshot extends StatCounters {
  /** pg_current_wal_insert_lsn() as a byte position. */
  walPosition: bigint;
  /** The next transaction id to be handed out. */
  nextXid: bigint;
}

export interface PgDelta extends StatCounters {
  walBytes: number;
  durableCommits: number;
}

const lsnToBytes = (lsn: string): bigint => {
  const [high, low] = lsn.split("/");
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
};

export class PgCounters {
  private readonly sql: SQL;

  constructor(url: string) {
    this.sql = new SQL({ url, max: 1 });
  }

  async snapshot(): Promise<PgSnapshot> {
    const [position] = await this.sql`
      select pg_current_wal_insert_lsn()::text as lsn,
             pg_snapshot_xmax(pg_current_snapshot())::text as xid`;
    const [wal] = await this.sql`select wal_records, wal_fpi, wal_sync, wal_write from pg_stat_wal`;
    const [database] = await this.sql`
      select xact_commit from pg_stat_database where datname = current_database()`;
    const rows = await this.sql`
      select relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del from pg_stat_user_tables`;
    const tables: Record<string, TableRows> = {};
    for (const r of rows) {
      tables[r.relname] = {
        inserted: Number(r.n_tup_ins),
        updated: Number(r.n_tup_upd),
        hotUpdated: Number(r.n_tup_hot_upd),
        deleted: Number(r.n_tup_del),
      };
    }
    return {
      walPosition: lsnToBytes(position.lsn),
      nextXid: BigInt(position.xid),
      walRecords: Number(wal.wal_records),
      walFullPageImages: Number(wal.wal_fpi),
      walSyncs: Number(wal.wal_sync),
      walWrites: Number(wal.wal_write),
      xactCommits: Number(database.xact_commit),
      tables,
    };
  }

  /** Rows in a table now (immediate, unlike the statistics). */
  async count(table: string): Promise<number> {
    const [row] = await this.sql.unsafe(`select count(*)::int as n from ${table}`);
    return row.n;
  }

  async sizes(): Promise<RelationSizes[]> {
    const rows = await this.sql`
      select c.relname,
             (select count(*) from pg_index i where i.indrelid = c.oid)::int as indexes,
             pg_relation_size(c.oid)::bigint as heap,
             pg_indexes_size(c.oid)::bigint as index_bytes,
             pg_total_relation_size(c.oid)::bigint as total,
             c.reltuples::bigint as estimated_rows
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind = 'r'`;
    const out: RelationSizes[] = [];
    for (const r of rows) {
      const indexRows = await this.sql`
        select ic.relname, pg_relation_size(ic.oid)::bigint as bytes
          from pg_index i join pg_class ic on ic.oid = i.indexrelid
         where i.indrelid = ${r.relname}::regclass order by ic.relname`;
      const [avg] = await this.sql.unsafe(
        `select count(*)::bigint as n, coalesce(avg(pg_column_size(t.*)), 0)::float8 as row_bytes from "${r.relname}" t`,
      );
      out.push({
        table: r.relname,
        rows: Number(avg.n),
        avgRowBytes: Number(avg.row_bytes),
        heapBytes: Number(r.heap),
        indexBytes: Number(r.index_bytes),
        totalBytes: Number(r.total),
        indexes: indexRows.map((i: { relname: string; bytes: string }) => ({
          name: i.relname,
          bytes: Number(i.bytes),
        })),
      });
    }
    return out.sort((a, b) => b.totalBytes - a.totalBytes);
  }

  /** Average stored size of the rows a condition selects (e.g. sessions refreshed at least once). */
  async avgRowBytes(table: string, where: string): Promise<{ rows: number; bytes: number }> {
    const [r] = await this.sql.unsafe(
      `select count(*)::int as n, coalesce(avg(pg_column_size(t.*)), 0)::float8 as b from "${table}" t where ${where}`,
    );
    return { rows: r.n, bytes: r.b };
  }

  run(statement: string): Promise<unknown> {
    return this.sql.unsafe(statement);
  }

  close(): Promise<void> {
    return this.sql.close();
  }
}

export interface RelationSizes {
  table: string;
  rows: number;
  /** avg(pg_column_size(row)): the tuple as stored, without page and index overhead. */
  avgRowBytes: number;
  heapBytes: number;
  indexBytes: number;
  totalBytes: number;
  indexes: Array<{ name: string; bytes: number }>;
}

export function pgDelta(before: PgSnapshot, after: PgSnapshot): PgDelta {
  const tables: Record<string, TableRows> = {};
  for (const [name, a] of Object.entries(after.tables)) {
    const b = before.tables[name] ?? { inserted: 0, updated: 0, hotUpdated: 0, deleted: 0 };
    const d = {
      inserted: a.inserted - b.inserted,
      updated: a.updated - b.updated,
      hotUpdated: a.hotUpdated - b.hotUpdated,
      deleted: a.deleted - b.deleted,
    };
    if (d.inserted || d.updated || d.deleted) tables[name] = d;
  }
  return {
    walBytes: Number(after.walPosition - before.walPosition),
    durableCommits: Number(after.nextXid - before.nextXid),
    walRecords: after.walRecords - before.walRecords,
    walFullPageImages: after.walFullPageImages - before.walFullPageImages,
    walSyncs: after.walSyncs - before.walSyncs,
    walWrites: after.walWrites - before.walWrites,
    xactCommits: after.xactCommits - before.xactCommits,
    tables,
  };
}
