/**
 * The statements of every refresh, validate and user request, and of the transactions that change
 * sessions, written once as plain SQL over the schema's column names and run with Bun's client on
 * the pool or inside a transaction (a Drizzle prepared query is bound to the pool, so it could not
 * join a transaction). Bun prepares each one on a connection the first time it runs there. Columns
 * are aliased to SessionRow's names, so a result row is a SessionRow once its int8 columns, which
 * the client returns as text, are read as numbers.
 */
import type { SQL } from "bun";
import { getTableColumns } from "drizzle-orm";
import { type CloudEvent, outboxRecord } from "../../server/core/events";
import type { GraceReplay, ProofUse, Rotation, SessionRow } from "../../server/core/ports";
import { sessions } from "./schema";

const table = Object.entries(getTableColumns(sessions));
const columns = table.map(([field, column]) => `"${column.name}" as "${field}"`).join(", ");
const bigintFields = table.filter(([, column]) => column.getSQLType() === "bigint").map(([field]) => field);
const active = "revoked_at is null and expires_at > $now::bigint";

/** First key of the two-int advisory lock space of the per-user locks (apart from the migration lock). */
const USER_LOCK_SPACE = 0x5e55;

type Raw = Record<string, unknown>;

/**
 * A statement with named parameters (`$name`), numbered once into PostgreSQL's `$1, $2 …`. Every
 * parameter carries a cast: Bun types a number by its value (int4, int8 or float8) and leaves text
 * untyped, so the cast keeps one statement, one plan and the indexes whatever the values.
 */
class Statement<P, R = void> {
  private readonly text: string;
  private readonly names: string[] = [];

  constructor(
    text: string,
    private readonly read: (raw: Raw) => R = () => undefined as R,
  ) {
    this.text = text.replace(/\$([A-Za-z]\w*)/g, (_, name: string) => {
      const known = this.names.indexOf(name);
      return `$${known >= 0 ? known + 1 : this.names.push(name)}`;
    });
  }

  /** `client`: the pool, or the transaction to run in. */
  async all(client: SQL, params: P): Promise<R[]> {
    const values = this.names.map((name) => (params as Raw)[name] ?? null);
    const rows: Raw[] = await client.unsafe(this.text, values);
    const read: R[] = [];
    for (const row of rows) read.push(this.read(row));
    return read;
  }

  async get(client: SQL, params: P): Promise<R | null> {
    return (await this.all(client, params))[0] ?? null;
  }
}

function sessionRow(raw: Raw): SessionRow {
  for (const field of bigintFields) if (raw[field] !== null) raw[field] = Number(raw[field]);
  return raw as unknown as SessionRow;
}

/** The outbox rows of some events as four arrays: one statement inserts any number of them, in order. */
export interface EventColumns {
  eventIds: string[];
  subjects: string[];
  payloads: string[];
  createdAts: number[];
}

export function eventColumns(events: CloudEvent[]): EventColumns {
  const records = events.map(outboxRecord);
  return {
    eventIds: records.map((r) => r.id),
    subjects: records.map((r) => r.subject),
    payloads: records.map((r) => r.payload),
    createdAts: records.map((r) => r.createdAt),
  };
}

const insertEvents = `insert into outbox (id, subject, payload, created_at)
  select * from unnest($eventIds::text[], $subjects::text[], $payloads::text[], $createdAts::bigint[])`;

type RotationParams = Omit<Rotation, "proof">;
type GraceParams = Omit<GraceReplay, "proof">;

/**
 * A conditional change and its DPoP proof's jti in one autocommit statement: the jti is recorded
 * only when the change matched a row (a change that lost its race leaves the proof usable for the
 * grace replay that follows), and a jti recorded before fails the whole statement with a unique
 * violation (23505), which undoes the change with it. A concurrent insert of the same jti waits
 * for the other statement to commit or roll back.
 */
const withProof = (change: string) =>
  `with changed as (${change}),
     recorded as (insert into dpop_proofs (jti, expires_at) select $jti::text, $expiresAt::bigint from changed)
   select * from changed`;

// The compare-and-swap: only the request that still sees the presented hash as current wins. A
// concurrent one waits for the row lock, re-checks the WHERE on the committed row and gets no row.
const rotateSql = `update sessions set previous_token_hash = refresh_token_hash, refresh_token_hash = $newHash::text,
       rotation_nonce = $nonce::text, rotated_at = $now::bigint, rotation_count = rotation_count + 1,
       last_used_at = $now::bigint, expires_at = least(absolute_expires_at, $idleDeadline::bigint),
       access_expires_at = greatest(access_expires_at, $accessExpiresAt::bigint),
       user_agent = coalesce($userAgent::text, user_agent), ip = coalesce($ip::text, ip)
     where session_id = $sessionId::text and refresh_token_hash = $presentedHash::text and ${active}
     returning ${columns}`;

const replayGraceSql = `update sessions set access_expires_at = greatest(access_expires_at, $accessExpiresAt::bigint),
       user_agent = coalesce($userAgent::text, user_agent), ip = coalesce($ip::text, ip)
     where session_id = $sessionId::text and previous_token_hash = $presentedHash::text
       and rotated_at >= $graceStart::bigint and ${active}
     returning ${columns}`;

export const queries = {
  byId: new Statement<{ id: string }, SessionRow>(
    `select ${columns} from sessions where session_id = $id::text`,
    sessionRow,
  ),
  activeById: new Statement<{ id: string; now: number }, SessionRow>(
    `select ${columns} from sessions where session_id = $id::text and ${active}`,
    sessionRow,
  ),
  // Unordered (the core sorts); the partial index of live sessions per user serves it.
  activeOfUser: new Statement<{ userId: string; now: number }, SessionRow>(
    `select ${columns} from sessions where user_id = $userId::text and ${active}`,
    sessionRow,
  ),
  // What a create decides on, in one round trip: whether the user is deleted, and their active
  // sessions (none: one row of nulls from the outer join).
  userState: new Statement<{ userId: string; now: number }, { deleted: boolean; live: SessionRow | null }>(
    `select exists (select 1 from deleted_users where user_id = $userId::text) as "deleted", ${columns}
     from (values (1)) as one (x) left join sessions on user_id = $userId::text and ${active}`,
    ({ deleted, ...row }) => ({ deleted: deleted as boolean, live: row.sessionId === null ? null : sessionRow(row) }),
  ),
  isDeleted: new Statement<{ userId: string }, 1>("select 1 from deleted_users where user_id = $userId::text", () => 1),
  // Serialises a user's creates, revocations and deletion: the cap and the deleted mark hold.
  lockUser: new Statement<{ userId: string }>(
    `select pg_advisory_xact_lock(${USER_LOCK_SPACE}, hashtext($userId::text))`,
  ),
  markDeleted: new Statement<{ userId: string; now: number }>(
    "insert into deleted_users (user_id, deleted_at) values ($userId::text, $now::bigint) on conflict do nothing",
  ),
  // The session and its events in one statement: a data-modifying CTE runs whether or not it is read.
  insertWithEvents: new Statement<SessionRow & EventColumns>(
    `with inserted as (
       insert into sessions (${table.map(([, column]) => `"${column.name}"`).join(", ")})
       values (${table.map(([field, column]) => `$${field}::${column.getSQLType()}`).join(", ")}))
     ${insertEvents}`,
  ),
  insertEvents: new Statement<EventColumns>(insertEvents),
  rotate: new Statement<RotationParams, SessionRow>(rotateSql, sessionRow),
  rotateWithProof: new Statement<RotationParams & ProofUse, SessionRow>(withProof(rotateSql), sessionRow),
  replayGrace: new Statement<GraceParams, SessionRow>(replayGraceSql, sessionRow),
  replayGraceWithProof: new Statement<GraceParams & ProofUse, SessionRow>(withProof(replayGraceSql), sessionRow),
  revoke: new Statement<{ id: string; owner: string | null; reason: string; now: number }, SessionRow>(
    `update sessions set revoked_at = $now::bigint, revoke_reason = $reason::text
     where session_id = $id::text and ($owner::text is null or user_id = $owner::text) and ${active}
     returning ${columns}`,
    sessionRow,
  ),
  revokeEach: new Statement<{ ids: string[]; reason: string; now: number }, SessionRow>(
    `update sessions set revoked_at = $now::bigint, revoke_reason = $reason::text
     where session_id = any($ids::text[]) and ${active} returning ${columns}`,
    sessionRow,
  ),
  revokeOfUser: new Statement<{ userId: string; reason: string; now: number; keep: string | null }, SessionRow>(
    `update sessions set revoked_at = $now::bigint, revoke_reason = $reason::text
     where user_id = $userId::text and ${active} and ($keep::text is null or session_id <> $keep::text)
     returning ${columns}`,
    sessionRow,
  ),
  rename: new Statement<{ id: string; userId: string; name: string | null; now: number }, SessionRow>(
    `update sessions set name = $name::text
     where session_id = $id::text and user_id = $userId::text and ${active} returning ${columns}`,
    sessionRow,
  ),
};

export type Queries = typeof queries;
