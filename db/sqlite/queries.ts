/**
 * The statements of every refresh, validate and user request, prepared once as plain bun:sqlite
 * statements: Drizzle's row mapping cost about as much as the query itself. Columns are aliased to
 * SessionRow's names, so a result row is a SessionRow as it is.
 */
import type { Database } from "bun:sqlite";
import { getTableColumns } from "drizzle-orm";
import type { GraceReplay, ProofUse, Rotation, SessionRow } from "../../server/core/ports";
import { sessions } from "./schema";

const table = Object.entries(getTableColumns(sessions));
const columns = table.map(([field, column]) => `"${column.name}" as "${field}"`).join(", ");
const names = table.map(([, column]) => `"${column.name}"`).join(", ");
const fields = table.map(([field]) => field);
const active = "revoked_at is null and expires_at > $now";

type RotationParams = Omit<Rotation, "proof" | "userAgent" | "ip"> & { userAgent: string | null; ip: string | null };
type GraceParams = Omit<GraceReplay, "proof" | "userAgent" | "ip"> & { userAgent: string | null; ip: string | null };

/** A prepared statement with its parameter and row types (bun:sqlite's own types want index signatures). */
interface Prepared<R, P> {
  get(params: P): R | null;
  all(params: P): R[];
  run(params: P): void;
}
const prepare = <R, P>(client: Database, text: string) => client.prepare(text) as unknown as Prepared<R, P>;

export function prepareQueries(client: Database) {
  const q = <P>(text: string) => prepare<SessionRow, P>(client, text);
  return {
    byId: q<{ id: string }>(`select ${columns} from sessions where session_id = $id`),
    activeById: q<{ id: string; now: number }>(`select ${columns} from sessions where session_id = $id and ${active}`),
    // Unordered: SQLite would sort with a temporary B-tree that cost several times the query (the core sorts).
    activeOfUser: q<{ userId: string; now: number }>(
      `select ${columns} from sessions where user_id = $userId and ${active}`,
    ),
    // The compare-and-swap: only the request that still sees the presented hash as current wins.
    rotate: q<RotationParams>(
      `update sessions set previous_token_hash = refresh_token_hash, refresh_token_hash = $newHash,
         rotation_nonce = $nonce, rotated_at = $now, rotation_count = rotation_count + 1, last_used_at = $now,
         expires_at = min(absolute_expires_at, $idleDeadline), access_expires_at = max(access_expires_at, $accessExpiresAt),
         user_agent = coalesce($userAgent, user_agent), ip = coalesce($ip, ip)
       where session_id = $sessionId and refresh_token_hash = $presentedHash and ${active}
       returning ${columns}`,
    ),
    replayGrace: q<GraceParams>(
      `update sessions set access_expires_at = max(access_expires_at, $accessExpiresAt),
         user_agent = coalesce($userAgent, user_agent), ip = coalesce($ip, ip)
       where session_id = $sessionId and previous_token_hash = $presentedHash and rotated_at >= $graceStart and ${active}
       returning ${columns}`,
    ),
    // Owner null: anyone's session (eviction, logout by refresh token, operators).
    revoke: q<{ id: string; owner: string | null; reason: string; now: number }>(
      `update sessions set revoked_at = $now, revoke_reason = $reason
       where session_id = $id and ($owner is null or user_id = $owner) and ${active} returning ${columns}`,
    ),
    rename: q<{ id: string; userId: string; name: string | null; now: number }>(
      `update sessions set name = $name where session_id = $id and user_id = $userId and ${active} returning ${columns}`,
    ),
    insert: prepare<never, SessionRow>(
      client,
      `insert into sessions (${names}) values (${fields.map((f) => `$${f}`).join(", ")})`,
    ),
    revokeOfUser: q<{ userId: string; reason: string; now: number; keep: string | null }>(
      `update sessions set revoked_at = $now, revoke_reason = $reason
       where user_id = $userId and ${active} and ($keep is null or session_id <> $keep) returning ${columns}`,
    ),
    isDeleted: prepare<{ one: 1 }, { userId: string }>(
      client,
      "select 1 as one from deleted_users where user_id = $userId",
    ),
    markDeleted: prepare<never, { userId: string; now: number }>(
      client,
      "insert into deleted_users (user_id, deleted_at) values ($userId, $now) on conflict do nothing",
    ),
    rememberProof: prepare<{ jti: string }, ProofUse>(
      client,
      "insert into dpop_proofs (jti, expires_at) values ($jti, $expiresAt) on conflict do nothing returning jti",
    ),
    insertEvent: prepare<never, { id: string; subject: string; payload: string; createdAt: number }>(
      client,
      "insert into outbox (id, subject, payload, created_at) values ($id, $subject, $payload, $createdAt)",
    ),
  };
}

export type Queries = ReturnType<typeof prepareQueries>;
