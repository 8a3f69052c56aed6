/** Refresh tokens: only a keyed hash is stored, and the key comes from SECRET_KEY, not the database. */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  deriveChildToken,
  mintRefreshToken,
  REFRESH_TOKEN_LENGTH,
  readRefreshToken,
} from "../../server/core/refresh-tokens";
import { deriveSecrets, keyedHash } from "../../server/core/secrets";
import { SecretKeyMismatch } from "../../server/core/signing-keys";
import { openTestCore } from "../support/core";

const keyA = deriveSecrets(Buffer.alloc(32, 1));
const keyB = deriveSecrets(Buffer.alloc(32, 2));
const SID = "0193a5c2-7b1e-7c3a-9d2f-4e5b6a7c8d9e";

test("the hash is keyed: a different SECRET_KEY gives a different hash; a plain SHA-256 is not it", () => {
  const token = mintRefreshToken(keyA, SID, false);
  const a = keyedHash(keyA.tokenHashKey, token);
  expect(keyedHash(keyA.tokenHashKey, token)).toBe(a);
  expect(keyedHash(keyB.tokenHashKey, token)).not.toBe(a);
  expect(a).not.toBe(createHash("sha256").update(token).digest("base64url"));
  expect(a).not.toContain(token);
});

test("each purpose has its own sub-key", () => {
  const all = Object.values(keyA).map((key) => key.toString("hex"));
  expect(new Set(all).size).toBe(all.length);
});

test("minted tokens: URL-safe, never repeated, naming their session at generation 0 with the binding flag", () => {
  const tokens = Array.from({ length: 1000 }, () => mintRefreshToken(keyA, SID, false));
  expect(new Set(tokens).size).toBe(1000);
  for (const token of tokens.slice(0, 20)) expect(token).toMatch(/^[A-Za-z0-9_-]{94}$/);
  expect(REFRESH_TOKEN_LENGTH).toBe(94);
  expect(readRefreshToken(keyA, tokens[0]!)).toEqual({ sessionId: SID, generation: 0, bound: false });
  expect(readRefreshToken(keyA, mintRefreshToken(keyA, SID, true))).toEqual({
    sessionId: SID,
    generation: 0,
    bound: true,
  });
});

test("the tag authenticates the token: any changed character, another SECRET_KEY or another length is refused", () => {
  const token = mintRefreshToken(keyA, SID, false);
  for (let i = 0; i < token.length; i++) {
    const changed = token.slice(0, i) + (token[i] === "A" ? "B" : "A") + token.slice(i + 1);
    expect(readRefreshToken(keyA, changed)).toBeNull();
  }
  expect(readRefreshToken(keyB, token)).toBeNull();
  expect(readRefreshToken(keyA, token.slice(1))).toBeNull();
  expect(readRefreshToken(keyA, `${token}A`)).toBeNull();
  expect(readRefreshToken(keyA, "")).toBeNull();
  expect(readRefreshToken(keyA, "!".repeat(94))).toBeNull();
});

test("a child is derived deterministically from parent and nonce, one generation later, with the key", () => {
  const parent = mintRefreshToken(keyA, SID, true);
  const identity = readRefreshToken(keyA, parent)!;
  const child = deriveChildToken(keyA, parent, identity, "nonce");
  expect(deriveChildToken(keyA, parent, identity, "nonce")).toBe(child);
  expect(readRefreshToken(keyA, child)).toEqual({ sessionId: SID, generation: 1, bound: true });
  expect(deriveChildToken(keyA, parent, identity, "nonce2")).not.toBe(child);
  expect(deriveChildToken(keyB, parent, identity, "nonce")).not.toBe(child);
  const other = mintRefreshToken(keyA, SID, true);
  expect(deriveChildToken(keyA, other, identity, "nonce")).not.toBe(child);
});

test("the store holds only the keyed hash of the session's tokens; the raw file has no token", async () => {
  const t = await openTestCore();
  try {
    const a = await t.core.sessions.create({ userId: "alice" });
    const b = await t.core.sessions.refresh({ refreshToken: a.refresh_token });
    const row = await t.core.store.sessions.findSession(a.session_id);
    expect(row!.refreshTokenHash).toBe(keyedHash(t.core.secrets.tokenHashKey, b.refresh_token));
    expect(row!.previousTokenHash).toBe(keyedHash(t.core.secrets.tokenHashKey, a.refresh_token));
    // Checkpoint the WAL so the main file holds everything, then look at raw bytes of both files.
    const db = new Database(join(t.dir, "sessions.db"));
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    db.close();
    for (const file of ["sessions.db", "sessions.db-wal"]) {
      let raw = "";
      try {
        raw = readFileSync(join(t.dir, file)).toString("latin1");
      } catch {
        continue;
      }
      for (const token of [a.refresh_token, b.refresh_token, a.access_token, b.access_token])
        expect(raw).not.toContain(token);
    }
  } finally {
    await t.close();
  }
});

test("a core on the same file with another SECRET_KEY does not start, and the tokens mean nothing to it", async () => {
  const t = await openTestCore();
  const pair = await t.core.sessions.create({ userId: "alice" });
  const { loadConfig } = await import("../../server/config");
  const { openCore } = await import("../../server/open-core");
  const loaded = loadConfig({
    DATABASE_URL: `sqlite:${join(t.dir, "sessions.db")}`,
    SECRET_KEY: "b".repeat(64),
    SERVICE_KEYS: "tests:0123456789abcdef",
    LOG_LEVEL: "silent",
  });
  if (!loaded.ok) throw new Error(loaded.errors.join());
  try {
    // CONTRACT §8: the store's keys were made with another SECRET_KEY, so it refuses to start.
    await expect(openCore(loaded.config, { role: "server", clock: t.clock })).rejects.toBeInstanceOf(SecretKeyMismatch);
    await expect(openCore(loaded.config, { role: "operator", clock: t.clock })).rejects.toBeInstanceOf(
      SecretKeyMismatch,
    );
    // Under another key the token's tag does not verify: it names no session at all.
    expect(readRefreshToken(deriveSecrets(Buffer.from("b".repeat(64), "hex")), pair.refresh_token)).toBeNull();
    expect((await t.core.sessions.validate(pair.refresh_token)).active).toBe(true);
  } finally {
    await t.close();
  }
});
