/**
 * A durable storage adapter for oidc-provider on bun:sqlite, the peer's "SQLite" configuration.
 * oidc-provider ships only a development in-memory store and asks production deployments for an
 * adapter of their own implementing its Adapter interface (upsert, find, findByUid,
 * findByUserCode, consume, destroy, revokeByGrantId) with expiry honoured on find; the SQL
 * examples it links keep one row per stored model with its JSON payload, the grantId, uid and
 * userCode as indexed columns, and the expiry and consumption time beside it. This one does that.
 *
 * Settings, the same as this service's SQLite store: WAL, synchronous=FULL, busy_timeout 5 s,
 * group commit (db/sqlite/group-commit.ts: the writes that arrive in one turn of the event loop
 * share one BEGIN IMMEDIATE transaction and one fsync, each in its own savepoint, and nobody
 * hears of a write before its COMMIT has returned), and the WAL checkpoints in a worker thread
 * (db/sqlite/checkpointer.ts). Reads run at once on the same connection. The peer thus gets the
 * storage techniques this service uses, so the comparison is of the rest.
 */
import { Database } from "bun:sqlite";
import type { Adapter, AdapterFactory, AdapterPayload } from "oidc-provider";
import { Checkpointer } from "../../db/sqlite/checkpointer";
import { GroupCommit } from "../../db/sqlite/group-commit";

/**
 * grant_id, uid and user_code are indexed alone: with (model, grant_id) SQLite's planner, without
 * statistics, chose the primary key's `model` prefix instead, a scan of every token per revocation.
 */
const SCHEMA = [
  `create table if not exists oidc_payload (
     model text not null,
     id text not null,
     payload text not null,
     grant_id text,
     uid text,
     user_code text,
     expires_at integer,
     consumed_at integer,
     primary key (model, id)
   ) without rowid`,
  "create index if not exists oidc_payload_grant on oidc_payload (grant_id)",
  "create index if not exists oidc_payload_uid on oidc_payload (uid)",
  "create index if not exists oidc_payload_user_code on oidc_payload (user_code)",
];

interface Row {
  payload: string;
  expires_at: number | null;
  consumed_at: number | null;
}

export interface SqliteAdapterStore {
  factory: AdapterFactory;
  close(): Promise<void>;
}

export function openSqliteAdapter(path: string): SqliteAdapterStore {
  const db = new Database(path, { create: true, strict: true });
  db.run("PRAGMA busy_timeout = 5000");
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = FULL");
  for (const statement of SCHEMA) db.run(statement);
  const checkpointer = new Checkpointer({ path, synchronous: "FULL", busyTimeoutMs: 5000 });
  const commits = new GroupCommit(db);

  const q = {
    find: db.prepare<Row, [string, string]>(
      "select payload, expires_at, consumed_at from oidc_payload where model = ? and id = ?",
    ),
    findBy: (column: "uid" | "user_code") =>
      db.prepare<Row, [string, string]>(
        `select payload, expires_at, consumed_at from oidc_payload where model = ? and ${column} = ?`,
      ),
    upsert: db.prepare(
      `insert into oidc_payload (model, id, payload, grant_id, uid, user_code, expires_at, consumed_at)
       values (?, ?, ?, ?, ?, ?, ?, null)
       on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id,
         uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at, consumed_at = null`,
    ),
    consume: db.prepare("update oidc_payload set consumed_at = ? where model = ? and id = ?"),
    destroy: db.prepare("delete from oidc_payload where model = ? and id = ?"),
    revokeByGrantId: db.prepare("delete from oidc_payload where model = ? and grant_id = ?"),
  };
  const byUid = q.findBy("uid");
  const byUserCode = q.findBy("user_code");

  /** A stored payload unless it has expired; `consumed` as the provider expects it. */
  const load = (row: Row | null): AdapterPayload | undefined => {
    if (!row || (row.expires_at !== null && row.expires_at <= Date.now())) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(row.consumed_at / 1000) };
  };

  const factory: AdapterFactory = (model: string): Adapter => ({
    async upsert(id, payload, expiresIn) {
      const expiresAt = typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : null;
      await commits.run(() =>
        q.upsert.run(
          model,
          id,
          JSON.stringify(payload),
          payload.grantId ?? null,
          payload.uid ?? null,
          payload.userCode ?? null,
          expiresAt,
        ),
      );
    },
    find: async (id) => load(q.find.get(model, id)),
    findByUid: async (uid) => load(byUid.get(model, uid)),
    findByUserCode: async (userCode) => load(byUserCode.get(model, userCode)),
    async consume(id) {
      await commits.run(() => q.consume.run(Date.now(), model, id));
    },
    async destroy(id) {
      await commits.run(() => q.destroy.run(model, id));
    },
    async revokeByGrantId(grantId) {
      await commits.run(() => q.revokeByGrantId.run(model, grantId));
    },
  });

  return {
    factory,
    async close() {
      await checkpointer.stop();
      db.close();
    },
  };
}
