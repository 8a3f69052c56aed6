/** Refresh tokens: only a keyed hash is stored, and the key comes from SECRET_KEY, not the database. */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { deriveChildToken, hashSecret, mintRefreshToken } from "../../server/core/refresh-tokens";
import { deriveSecrets } from "../../server/core/secrets";
import { openTestCore } from "../support/core";

const keyA = deriveSecrets(Buffer.alloc(32, 1));
const keyB = deriveSecrets(Buffer.alloc(32, 2));

test("the hash is keyed: a different SECRET_KEY gives a different hash; a plain SHA-256 is not it", () => {
  const token = mintRefreshToken();
  const a = hashSecret(keyA.tokenHashKey, token);
  expect(hashSecret(keyA.tokenHashKey, token)).toBe(a);
  expect(hashSecret(keyB.tokenHashKey, token)).not.toBe(a);
  expect(a).not.toBe(createHash("sha256").update(token).digest("base64url"));
  expect(a).not.toContain(token);
});

test("each purpose has its own sub-key", () => {
  const all = Object.values(keyA).map((key) => key.toString("hex"));
  expect(new Set(all).size).toBe(all.length);
});

test("minted tokens are 256 random bits, URL-safe, never repeated", () => {
  const tokens = Array.from({ length: 1000 }, mintRefreshToken);
  expect(new Set(tokens).size).toBe(1000);
  for (const token of tokens.slice(0, 20)) {
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  }
});

test("a child is derived deterministically from parent and nonce, with the key", () => {
  const child = deriveChildToken(keyA.tokenDeriveKey, "parent", "nonce");
  expect(deriveChildToken(keyA.tokenDeriveKey, "parent", "nonce")).toBe(child);
  expect(deriveChildToken(keyA.tokenDeriveKey, "parent", "nonce2")).not.toBe(child);
  expect(deriveChildToken(keyB.tokenDeriveKey, "parent", "nonce")).not.toBe(child);
  // parent ‖ nonce is separated, so moving characters across the boundary changes the child.
  expect(deriveChildToken(keyA.tokenDeriveKey, "paren", "tnonce")).not.toBe(child);
});

test("the store holds only the keyed hash of the session's tokens; the raw file has no token", async () => {
  const t = await openTestCore();
  try {
    const a = await t.core.sessions.create({ userId: "alice" });
    const b = await t.core.sessions.refresh({ refreshToken: a.refresh_token });
    const row = await t.core.store.findSession(a.session_id);
    expect(row!.refreshTokenHash).toBe(hashSecret(t.core.secrets.tokenHashKey, b.refresh_token));
    expect(row!.previousTokenHash).toBe(hashSecret(t.core.secrets.tokenHashKey, a.refresh_token));
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

test("a core opened on the same file with another SECRET_KEY cannot use the old tokens", async () => {
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
  // Opening works (private keys are decrypted only to sign), but the tokens' hashes do not match.
  const other = await openCore(loaded.config, { clock: t.clock });
  try {
    expect((await other.sessions.validate(pair.refresh_token)).active).toBe(false);
    expect((await t.core.sessions.validate(pair.refresh_token)).active).toBe(true);
  } finally {
    await other.close();
    await t.close();
  }
});
