/**
 * After the run: every fault healed, every instance up, then wait until the outbox is relayed and
 * every `user.deleted` consumed, and read what is true now — the database's sessions, outbox and
 * deleted users, every message of SESSIONS, and the answer of every instance to `validate` for
 * the refresh tokens the clients were given.
 */
import type { Deployment } from "./deployment";
import { type Instance, startInstance } from "./deployment/instances";
import { SESSIONS, USERS } from "./deployment/streams";
import type { History } from "./history";

export interface DbSession {
  userId: string;
  createdAt: number;
  revokedAt: number | null;
  reason: string | null;
  rotationCount: number;
}

export interface EventRow {
  /** Outbox `seq` or stream sequence. */
  seq: number;
  id: string;
  subject: string;
  sessionId: string | null;
  reason: string | null;
}

export interface OutboxRow extends EventRow {
  sentAt: number | null;
}

export interface FinalState {
  sessions: Map<string, DbSession>;
  outbox: OutboxRow[];
  stream: EventRow[];
  deletedUsers: Set<string>;
  /** token → the `active` answer of each instance (null: no answer). */
  validations: Map<string, Array<boolean | null>>;
  /** Whether the outbox was empty and USERS consumed within the recovery wait. */
  drained: boolean;
  /** Time from the last fault's heal until drained, ms. */
  drainMs: number;
  /** …until the outbox was first empty, and until USERS was first consumed, ms (null: never). */
  outboxEmptyMs: number | null;
  usersConsumedMs: number | null;
}

const DRAIN_TIMEOUT_MS = 120_000;

export async function collectFinalState(deployment: Deployment, history: History): Promise<FinalState> {
  const { instances, nats, postgres } = deployment;
  // Everything back first, whatever the faults left behind.
  postgres.thaw();
  await postgres.start().catch(() => {}); // already running: pg_ctl refuses, which is fine
  for (const node of nats.nodes) if (!node.process.running) await nats.restart(node);
  await Promise.all(instances.map((instance) => startInstance(instance)));

  const sql = deployment.sql();
  const started = Date.now();
  let drained = false;
  let outboxEmptyMs: number | null = null;
  let usersConsumedMs: number | null = null;
  while (Date.now() - started < DRAIN_TIMEOUT_MS) {
    const [{ pending }] = await sql`select count(*)::int as pending from outbox where sent_at is null`.catch(() => [
      { pending: -1 },
    ]);
    const users = await deployment.jsm.consumers.info(USERS, "session-service").catch(() => null);
    const consumed = users !== null && users.num_pending === 0 && users.num_ack_pending === 0;
    if (pending === 0) outboxEmptyMs ??= Date.now() - started;
    if (consumed) usersConsumedMs ??= Date.now() - started;
    if (pending === 0 && consumed) {
      drained = true;
      break;
    }
    await Bun.sleep(250);
  }
  const drainMs = Date.now() - started;

  const sessions = new Map<string, DbSession>();
  for (const row of await sql`select session_id, user_id, created_at, revoked_at, revoke_reason, rotation_count from sessions`) {
    sessions.set(row.session_id, {
      userId: row.user_id,
      createdAt: Number(row.created_at),
      revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
      reason: row.revoke_reason,
      rotationCount: Number(row.rotation_count),
    });
  }
  const outbox: OutboxRow[] = (await sql`select seq, id, subject, payload, sent_at from outbox order by seq`).map(
    (row: { seq: unknown; id: string; subject: string; payload: string; sent_at: unknown }) => ({
      ...describe(Number(row.seq), row.id, row.subject, row.payload),
      sentAt: row.sent_at === null ? null : Number(row.sent_at),
    }),
  );
  const deletedUsers = new Set<string>(
    (await sql`select user_id from deleted_users`).map((row: { user_id: string }) => row.user_id),
  );
  const stream = await readStream(deployment);
  const validations = await validateAll(deployment, instances, history);
  return { sessions, outbox, stream, deletedUsers, validations, drained, drainMs, outboxEmptyMs, usersConsumedMs };
}

function describe(seq: number, id: string, subject: string, payload: string): EventRow {
  let data: { session_id?: string; reason?: string } = {};
  try {
    data = JSON.parse(payload).data ?? {};
  } catch {
    // An unreadable payload keeps its id and subject: the event check still counts it.
  }
  return { seq, id, subject, sessionId: data.session_id ?? null, reason: data.reason ?? null };
}

async function readStream(deployment: Deployment): Promise<EventRow[]> {
  const info = await deployment.jsm.streams.info(SESSIONS);
  const seqs: number[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) seqs.push(seq);
  const rows: EventRow[] = [];
  for (let i = 0; i < seqs.length; i += 64) {
    const batch = await Promise.all(
      seqs.slice(i, i + 64).map((seq) => deployment.jsm.streams.getMessage(SESSIONS, { seq }).catch(() => null)),
    );
    for (const message of batch) {
      if (!message) continue;
      const id = message.header?.get("Nats-Msg-Id") ?? "";
      rows.push(describe(message.seq, id, message.subject, new TextDecoder().decode(message.data)));
    }
  }
  return rows;
}

/** Every refresh token a client was given, asked of every instance. */
async function validateAll(
  deployment: Deployment,
  instances: Instance[],
  history: History,
): Promise<Map<string, Array<boolean | null>>> {
  const tokens = new Set<string>();
  for (const op of history.ops) {
    if ((op.status === 201 || op.status === 200) && typeof op.body?.refresh_token === "string") {
      tokens.add(op.body.refresh_token);
    }
  }
  const list = [...tokens];
  const validations = new Map<string, Array<boolean | null>>();
  const headers = { authorization: `Bearer ${deployment.serviceKey}` };
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const token = list[next++]!;
      const answers: Array<boolean | null> = [];
      for (const instance of instances) {
        const answer = await deployment.balancer.send("POST", "/session/validate", {
          body: { refresh_token: token },
          headers,
          only: instance,
        });
        answers.push(answer.status === 200 ? (answer.body as { active: boolean }).active === true : null);
      }
      validations.set(token, answers);
    }
  };
  await Promise.all(Array.from({ length: 12 }, worker));
  return validations;
}
