/**
 * Every committed change has exactly one event in SESSIONS (by event id, against the outbox
 * table): none missing, none twice, none the outbox does not know; per session one
 * `session.created`, one `session.revoked` if and only if it is revoked (with the stored reason),
 * the created one first in the stream.
 */
import type { EventRow } from "../final-state";
import type { CheckInput, Violation } from "./types";

export function checkEvents({ final }: CheckInput): Violation[] {
  const violations: Violation[] = [];
  if (!final.drained) {
    violations.push({
      check: "events not relayed after recovery",
      detail: `outbox or USERS not drained after ${final.drainMs} ms`,
    });
  }
  const outboxIds = new Set(final.outbox.map((row) => row.id));
  for (const row of final.outbox) {
    if (row.sentAt === null)
      violations.push({ check: "event not relayed", detail: `outbox ${row.seq} (${row.subject})` });
  }
  const inStream = new Map<string, EventRow>();
  for (const message of final.stream) {
    if (!message.id) {
      violations.push({ check: "event without Nats-Msg-Id", detail: `stream seq ${message.seq}` });
      continue;
    }
    if (inStream.has(message.id)) {
      violations.push({
        check: "event twice in SESSIONS",
        detail: `event ${message.id} at seq ${inStream.get(message.id)!.seq} and ${message.seq}`,
      });
    } else inStream.set(message.id, message);
    if (!outboxIds.has(message.id))
      violations.push({ check: "event not in the outbox", detail: `event ${message.id} (seq ${message.seq})` });
  }
  for (const row of final.outbox) {
    if (!inStream.has(row.id))
      violations.push({
        check: "event missing from SESSIONS",
        detail: `event ${row.id} (${row.subject}, session ${row.sessionId})`,
      });
  }

  const bySession = new Map<string, { outbox: EventRow[]; stream: EventRow[] }>();
  const of = (session: string) => {
    let entry = bySession.get(session);
    if (!entry) {
      entry = { outbox: [], stream: [] };
      bySession.set(session, entry);
    }
    return entry;
  };
  for (const row of final.outbox) if (row.sessionId) of(row.sessionId).outbox.push(row);
  for (const message of inStream.values()) if (message.sessionId) of(message.sessionId).stream.push(message);

  for (const [session, row] of final.sessions) {
    const events = bySession.get(session) ?? { outbox: [], stream: [] };
    for (const [where, list] of [
      ["outbox", events.outbox],
      ["SESSIONS", events.stream],
    ] as const) {
      const created = list.filter((e) => e.subject === "session.created");
      const revoked = list.filter((e) => e.subject === "session.revoked");
      if (created.length !== 1) {
        violations.push({
          check: "session.created count",
          detail: `session ${session}: ${created.length} in ${where}`,
        });
      }
      const expected = row.revokedAt === null ? 0 : 1;
      if (revoked.length !== expected) {
        violations.push({
          check: "session.revoked count",
          detail: `session ${session}: ${revoked.length} in ${where}, ${expected} expected`,
        });
      }
      if (revoked[0] && row.reason !== null && revoked[0].reason !== row.reason) {
        violations.push({
          check: "revoked reason",
          detail: `session ${session}: event ${revoked[0].reason}, stored ${row.reason} (${where})`,
        });
      }
      if (where === "SESSIONS" && created[0] && revoked[0] && revoked[0].seq < created[0].seq) {
        violations.push({ check: "revoked before created", detail: `session ${session}` });
      }
    }
  }
  for (const session of bySession.keys()) {
    if (!final.sessions.has(session))
      violations.push({ check: "event of an unknown session", detail: `session ${session}` });
  }
  return violations;
}
