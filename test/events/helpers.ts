/** Shared checks of the event tests: the CloudEvents envelope, secrets scan, outbox state. */
import { expect } from "bun:test";
import { decodeJwt } from "jose";
import { SECRET_KEY, SERVICE_KEY } from "../support/core";
import type { StreamMessage } from "../support/nats";
import { openDbReadOnly, type Pair, refreshTokenHash } from "../support/server";

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export interface SessionEvent {
  specversion: string;
  id: string;
  source: string;
  type: "session.created" | "session.revoked";
  subject: string;
  time: string;
  datacontenttype: string;
  data: Record<string, unknown>;
}

/**
 * Checks the envelope of one message of stream SESSIONS (CONTRACT §5) and returns the document:
 * exactly the CloudEvents keys, subject = session id, type = NATS subject, Nats-Msg-Id = id.
 */
export function cloudEvent(message: StreamMessage): SessionEvent {
  const doc = JSON.parse(message.text) as SessionEvent;
  expect(Object.keys(doc).sort()).toEqual(
    ["data", "datacontenttype", "id", "source", "specversion", "subject", "time", "type"].sort(),
  );
  expect(doc.specversion).toBe("1.0");
  expect(doc.id).toMatch(UUID);
  expect(doc.source).toBe("session-service");
  expect(["session.created", "session.revoked"]).toContain(doc.type);
  expect(doc.type).toBe(message.subject as SessionEvent["type"]);
  expect(doc.subject).toMatch(UUID);
  expect(doc.subject).toBe(doc.data.session_id as string);
  expect(doc.time).toMatch(ISO_MS);
  expect(new Date(doc.time).toISOString()).toBe(doc.time);
  expect(doc.datacontenttype).toBe("application/json");
  expect(message.msgId).toBe(doc.id);
  return doc;
}

/** The latest `exp` among access tokens, as the ISO time an event carries. */
export function latestExp(accessTokens: string[]): string {
  expect(accessTokens.length).toBeGreaterThan(0);
  return new Date(Math.max(...accessTokens.map((token) => decodeJwt(token).exp!)) * 1000).toISOString();
}

/** Every secret a test saw or the database holds: tokens, their hashes, key material. */
export function secretsOf(pairs: Pair[], dirs: string[]): string[] {
  const found = new Set<string>([SECRET_KEY, SERVICE_KEY]);
  for (const pair of pairs) {
    found.add(pair.access_token);
    found.add(pair.access_token.split(".")[2]!); // the signature alone
    found.add(pair.refresh_token);
    found.add(refreshTokenHash(pair.refresh_token));
  }
  for (const dir of dirs) {
    const db = openDbReadOnly(dir);
    try {
      const columns = [
        "select refresh_token_hash as v from sessions",
        "select previous_token_hash as v from sessions",
        "select rotation_nonce as v from sessions",
        "select key_hash as v from service_clients",
        "select private_key_encrypted as v from signing_keys",
      ];
      for (const query of columns) {
        for (const { v } of db.query(query).all() as Array<{ v: string | null }>) if (v) found.add(v);
      }
    } finally {
      db.close();
    }
  }
  // Too short to mean anything (would match by accident): none expected, but never scan for them.
  return [...found].filter((s) => s.length >= 16);
}

/** The secrets that occur anywhere in the messages (body or headers). */
export function leakedSecrets(messages: StreamMessage[], secrets: string[]): string[] {
  const haystack = messages.map((m) => `${m.text}\n${JSON.stringify(m.headers)}`).join("\n");
  return secrets.filter((secret) => haystack.includes(secret));
}

/** Outbox rows in the server's database: all, and those not yet marked sent. */
export function outboxState(dir: string): { ids: string[]; unsent: number } {
  const db = openDbReadOnly(dir);
  try {
    const ids = (db.query("select id from outbox order by seq").all() as Array<{ id: string }>).map((r) => r.id);
    const { n } = db.query("select count(*) as n from outbox where sent_at is null").get() as { n: number };
    return { ids, unsent: n };
  } finally {
    db.close();
  }
}

/** Groups stream documents by session, keeping stream order. */
export function bySession(docs: SessionEvent[]): Map<string, SessionEvent[]> {
  const out = new Map<string, SessionEvent[]>();
  for (const doc of docs) out.set(doc.subject, [...(out.get(doc.subject) ?? []), doc]);
  return out;
}
