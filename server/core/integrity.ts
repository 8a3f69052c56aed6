/**
 * What the database holds is authenticated, not trusted (CONTRACT §4: the database alone lets no
 * one sign tokens). Every session row and signing-key row carries a MAC under a sub-key of
 * SECRET_KEY over the columns that decide what gets signed or published:
 * - a session: its id, user, claims, DPoP binding and fixed deadlines, so editing one's own row
 *   (user_id → "ceo", claims → admin) and refreshing yields no token;
 * - a signing key: every column, so a planted public key is never published nor trusted, and an
 *   edited activation or retirement is noticed.
 * A row that fails its check is not used and is reported (logged). What a MAC cannot stop: a writer
 * rolling a row back to a state it has seen before (un-revoking a session, un-retiring a key), or
 * deleting rows. The README's threat model says so.
 */
import { createHmac } from "node:crypto";
import type { SessionRow, SigningKeyRow } from "./ports";
import { constantTimeEqual } from "./secrets";

const mac = (key: Buffer, kind: string, fields: unknown[]) =>
  createHmac("sha256", key)
    .update(JSON.stringify([kind, ...fields]))
    .digest("base64url");

type SessionIdentity = Pick<
  SessionRow,
  "sessionId" | "userId" | "claims" | "dpopJkt" | "createdAt" | "absoluteExpiresAt"
>;

export const sessionMac = (key: Buffer, row: SessionIdentity) =>
  mac(key, "session/v1", [row.sessionId, row.userId, row.claims, row.dpopJkt, row.createdAt, row.absoluteExpiresAt]);

export const sessionIntact = (key: Buffer, row: SessionRow) => constantTimeEqual(sessionMac(key, row), row.mac);

export const signingKeyMac = (key: Buffer, row: Omit<SigningKeyRow, "mac">) =>
  mac(key, "signing-key/v1", [
    row.kid,
    row.alg,
    row.publicJwk,
    row.privateKeyEncrypted,
    row.createdAt,
    row.activatesAt,
    row.retiredAt,
  ]);

export const signingKeyIntact = (key: Buffer, row: SigningKeyRow) =>
  constantTimeEqual(signingKeyMac(key, row), row.mac);
