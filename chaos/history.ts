/**
 * Every client-visible operation of a run: what was asked, of which instance, when, and what came
 * back. The checks read only this and the final state; nothing here is printed as is (it holds
 * tokens), the report prints counts and ids.
 */

export type OpKind = "create" | "refresh" | "validate" | "me" | "logout" | "revoke" | "logout_all" | "user_deleted";

/** The fields of the contract's answers that the workload and the checks read. */
export interface AnswerBody {
  session_id?: string;
  refresh_token?: string;
  access_token?: string;
  active?: boolean;
  error?: string;
  /** user_deleted: the event id published. */
  id?: string;
}

export interface Op {
  id: number;
  kind: OpKind;
  userId: string;
  /** The session the operation is about (known before the call, or from a 201). */
  sessionId?: string;
  /** The refresh token presented (refresh, validate, revoke). */
  token?: string;
  /** The instance that answered (or the last one tried). */
  instance?: string;
  /** Date.now() when the request was sent and when its answer (or error) came. */
  start: number;
  end: number;
  /** HTTP status, or for user_deleted 200 once JetStream acknowledged it; null: no answer (connection error, timeout). */
  status: number | null;
  error?: string;
  /** The parsed JSON answer, if any. */
  body?: AnswerBody;
  /** Concurrent refreshes of one token share a group number. */
  group?: number;
  /** The op whose answer was lost (or 503) and which this one repeats with the same token. */
  retryOf?: number;
}

export class History {
  readonly ops: Op[] = [];
  private nextId = 1;

  /** Records an op when it starts; `finish` fills in the answer. */
  begin(op: Omit<Op, "id" | "start" | "end" | "status">): Op {
    const started: Op = { ...op, id: this.nextId++, start: Date.now(), end: 0, status: null };
    this.ops.push(started);
    return started;
  }

  finish(op: Op, answer: { status: number | null; body?: unknown; error?: string; instance?: string }): Op {
    op.end = Date.now();
    op.status = answer.status;
    op.body = typeof answer.body === "object" && answer.body !== null ? (answer.body as AnswerBody) : undefined;
    op.error = answer.error;
    op.instance = answer.instance ?? op.instance;
    return op;
  }
}

/** An op that got an answer which is neither 503 nor a lost connection. */
export function answered(op: Op): boolean {
  return op.status !== null && op.status !== 503;
}

/** The ops without any token, for a file to look into: session ids, statuses and times stay. */
export function redacted(ops: Op[]): Array<Omit<Op, "token">> {
  return ops.map(({ token: _token, body, ...rest }) => {
    if (!body) return rest;
    const { refresh_token: _refresh, access_token: _access, ...kept } = body;
    return { ...rest, body: kept };
  });
}
