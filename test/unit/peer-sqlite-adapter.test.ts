/**
 * The benchmark's durable adapter for oidc-provider (bench/peer/sqlite-adapter.ts) keeps the
 * Adapter contract the provider relies on, on a real SQLite file, driven through the provider's
 * own models: what the peer is measured with must really store, rotate, revoke and expire.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createProvider, mintRefreshToken } from "../../bench/peer/provider";
import { openSqliteAdapter } from "../../bench/peer/sqlite-adapter";
import { tempDir } from "../support/core";

const dir = tempDir("peer-adapter-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const open = (file: string) => {
  const store = openSqliteAdapter(join(dir, file));
  const provider = createProvider({
    issuer: "http://127.0.0.1:1",
    adapter: store.factory,
    clientSecret: "s".repeat(43),
  });
  return { store, provider };
};

describe("oidc-provider SQLite adapter", () => {
  test("a minted refresh token is found, consumed once, and survives reopening the file", async () => {
    const { store, provider } = open("durable.db");
    const value = await mintRefreshToken(provider, "alice");
    const token = await provider.RefreshToken.find(value);
    expect(token?.accountId).toBe("alice");
    expect(token?.consumed).toBeFalsy();
    expect(await provider.Grant.find(token!.grantId!)).toBeDefined();
    await token!.consume();
    await store.close();

    const again = open("durable.db");
    const reread = await again.provider.RefreshToken.find(value);
    expect(reread?.consumed).toBeTruthy();
    expect(reread?.isValid).toBe(false);
    await again.store.close();
  });

  test("revokeByGrantId removes that grant's tokens and no other", async () => {
    const { store, provider } = open("revoke.db");
    const [mine, other] = [await mintRefreshToken(provider, "bob"), await mintRefreshToken(provider, "carol")];
    const token = (await provider.RefreshToken.find(mine))!;
    await token.destroy();
    await provider.RefreshToken.adapter.revokeByGrantId(token.grantId!);
    await provider.Grant.adapter.destroy(token.grantId!);
    expect(await provider.RefreshToken.find(mine)).toBeUndefined();
    expect(await provider.Grant.find(token.grantId!)).toBeUndefined();
    expect((await provider.RefreshToken.find(other))?.accountId).toBe("carol");
    await store.close();
  });

  test("a row past its expiry is not found", async () => {
    const { store } = open("expiry.db");
    const adapter = store.factory("AccessToken");
    await adapter.upsert("short", { jti: "short", kind: "AccessToken" }, 0);
    await adapter.upsert("long", { jti: "long", kind: "AccessToken" }, 60);
    expect(await adapter.find("short")).toBeUndefined();
    expect(await adapter.find("long")).toMatchObject({ jti: "long" });
    await store.close();
  });
});
