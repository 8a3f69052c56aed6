/** keys, clients and migrate against a real store with no server running. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/core";
import { countRows, openCoreAt, readStore, sessionctl, sessionctlJson, startedByServer } from "./support";

const OTHER_SECRET_KEY = "30d276804b02bbe2b736af505a1fa6354908091f899dddf399479e8ad6f57612";

interface KeyObject {
  kid: string;
  alg: string;
  status: string;
  created_at: string;
  activates_at: string;
  retired_at: string | null;
}

const keysList = (dir: string) => sessionctlJson<KeyObject[]>(dir, ["keys", "list"]);
const byStatus = (keys: KeyObject[], status: string) => keys.filter((k) => k.status === status).map((k) => k.kid);

describe("keys", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await startedByServer(tempDir("sessionctl-keys-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("list shows the one signing key the server made on its first start", async () => {
    const keys = await keysList(dir);
    expect(keys).toHaveLength(1);
    expect(Object.keys(keys[0]).sort()).toEqual(["activates_at", "alg", "created_at", "kid", "retired_at", "status"]);
    expect(keys[0]).toMatchObject({ alg: "EdDSA", status: "signing", retired_at: null });

    const table = await sessionctl(dir, ["keys", "list"]);
    expect(table.stdout).toMatch(new RegExp(`^${keys[0].kid}\\s+EdDSA\\s+signing\\s`, "m"));
    // Public and private key material never appears.
    expect(table.stdout).not.toMatch(/"(x|d)"|private/);
  });

  test("rotate adds a key that is published now and signs after the 5-minute JWKS cache time and one key reload", async () => {
    const [old] = await keysList(dir);
    const result = await sessionctl(dir, ["keys", "rotate"]);
    expect(result.code).toBe(0);
    const kid = result.stdout.match(/signing key (\S+):/)![1];
    expect(result.stdout).toContain("published now, signing from");

    const keys = await keysList(dir);
    const fresh = keys.find((k) => k.kid === kid)!;
    expect(fresh.status).toBe("pending");
    // The JWKS cache time plus one key reload of the instances, as the automatic rotation.
    expect(Date.parse(fresh.activates_at) - Date.parse(fresh.created_at)).toBe(305_000);
    expect(byStatus(keys, "signing")).toEqual([old.kid]);
  });

  test("retire refuses the signing key and a pending key unless --force", async () => {
    const keys = await keysList(dir);
    const signing = byStatus(keys, "signing")[0];
    const pending = byStatus(keys, "pending")[0];

    const refused = await sessionctl(dir, ["keys", "retire", signing]);
    expect(refused).toMatchObject({ code: 1, stdout: "" });
    expect(refused.stderr).toMatch(/^sessionctl: key \S+ is the current signing key; [^\n]*--force\n$/);
    const refusedPending = await sessionctl(dir, ["keys", "retire", pending]);
    expect(refusedPending.code).toBe(1);
    expect(refusedPending.stderr).toContain("published ahead of rotation");
    expect(await keysList(dir)).toEqual(keys);

    const forced = await sessionctl(dir, ["keys", "retire", pending, "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`Retired key ${pending} (forced`);
    expect((await keysList(dir)).find((k) => k.kid === pending)!.status).toBe("retired");
  });

  test("rotate --now signs at once; the old key stays published and cannot be retired while its tokens live", async () => {
    const [old] = byStatus(await keysList(dir), "signing");
    const result = await sessionctl(dir, ["keys", "rotate", "--now"]);
    expect(result.code).toBe(0);
    const kid = result.stdout.match(/signing key (\S+):/)![1];
    const keys = await keysList(dir);
    expect(byStatus(keys, "signing")).toEqual([kid]);
    expect(byStatus(keys, "published")).toEqual([old]);

    const refused = await sessionctl(dir, ["keys", "retire", old]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^sessionctl: access tokens signed by key \S+ may still be alive[^\n]*--force\n$/);
  });

  test("retire --force on the signing key first puts a fresh key in its place, so something always signs", async () => {
    const [signing] = byStatus(await keysList(dir), "signing");
    const result = await sessionctl(dir, ["keys", "retire", signing, "--force"]);
    expect(result.code).toBe(0);
    const fresh = result.stdout.match(/Created EdDSA signing key (\S+), signing now/)![1];
    const keys = await keysList(dir);
    expect(byStatus(keys, "signing")).toEqual([fresh]);
    expect(keys.find((k) => k.kid === signing)!.status).toBe("retired");
  });

  test("an unknown kid exits 3; an already retired one is a no-op", async () => {
    const unknown = await sessionctl(dir, ["keys", "retire", "no-such-kid"]);
    expect(unknown).toMatchObject({ code: 3, stdout: "", stderr: "sessionctl: no signing key no-such-kid\n" });
    const retired = (await keysList(dir)).find((k) => k.status === "retired" && k.retired_at !== null)!;
    const again = await sessionctl(dir, ["keys", "retire", retired.kid]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already retired");
  });

  test("rotate with another SECRET_KEY than the store's is refused: the server could not use that key", async () => {
    const before = countRows(dir, "signing_keys");
    const result = await sessionctl(dir, ["keys", "rotate"], { SECRET_KEY: OTHER_SECRET_KEY });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^sessionctl: SECRET_KEY does not match[^\n]*\n$/);
    expect(countRows(dir, "signing_keys")).toBe(before);
  });
});

describe("clients", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await startedByServer(tempDir("sessionctl-clients-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("add prints a new key once, stores only its hash, and the core accepts the key", async () => {
    const result = await sessionctl(dir, ["clients", "add", "gateway"]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toContain("shown only this once");
    const serviceKey = lines[1];
    expect(serviceKey).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const stored = readStore(dir, (db) => db.query("select name, key_hash from service_clients").all()) as Array<{
      name: string;
      key_hash: string;
    }>;
    expect(stored.map((c) => c.name)).toEqual(["gateway"]);
    expect(stored[0].key_hash).not.toContain(serviceKey);

    const core = await openCoreAt(dir);
    try {
      expect(await core.serviceKeys.authenticate(serviceKey)).toBe("gateway");
    } finally {
      await core.close();
    }
    // It is never shown again.
    expect((await sessionctl(dir, ["clients", "list"])).stdout).not.toContain(serviceKey);
  });

  test("--json prints name, service_key and created_at", async () => {
    const added = await sessionctlJson(dir, ["clients", "add", "auth-service"]);
    expect(Object.keys(added).sort()).toEqual(["created_at", "name", "service_key"]);
    expect(added.name).toBe("auth-service");
  });

  test("list shows names and times only", async () => {
    const list = await sessionctlJson<any[]>(dir, ["clients", "list"]);
    expect(list.map((c) => c.name)).toEqual(["auth-service", "gateway"]);
    for (const c of list) expect(Object.keys(c).sort()).toEqual(["created_at", "name"]);
    const table = await sessionctl(dir, ["clients", "list"]);
    expect(table.stdout).toMatch(/^NAME\s+CREATED\nauth-service\s+\S+Z\ngateway\s+\S+Z\n$/);
  });

  test("adding an existing name exits 1 and keeps the old key", async () => {
    const before = readStore(dir, (db) =>
      db.query("select key_hash from service_clients where name = 'gateway'").get(),
    );
    const result = await sessionctl(dir, ["clients", "add", "gateway"]);
    expect(result).toMatchObject({ code: 1, stdout: "" });
    expect(result.stderr).toBe("sessionctl: client gateway already exists; remove it first to give it a new key\n");
    expect(
      readStore(dir, (db) => db.query("select key_hash from service_clients where name = 'gateway'").get()),
    ).toEqual(before);
  });

  test("add with another SECRET_KEY than the store's is refused: the server could not match the key", async () => {
    const result = await sessionctl(dir, ["clients", "add", "mismatch"], { SECRET_KEY: OTHER_SECRET_KEY });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^sessionctl: SECRET_KEY does not match/);
    expect(countRows(dir, "service_clients", "name = 'mismatch'")).toBe(0);
  });

  test("remove deletes the client; an unknown name exits 3", async () => {
    const removed = await sessionctl(dir, ["clients", "remove", "gateway"]);
    expect(removed).toMatchObject({ code: 0, stdout: "Removed client gateway; its service key no longer works.\n" });
    expect(countRows(dir, "service_clients", "name = 'gateway'")).toBe(0);
    const again = await sessionctl(dir, ["clients", "remove", "gateway"]);
    expect(again).toMatchObject({ code: 3, stdout: "", stderr: "sessionctl: no client gateway in the store\n" });
  });
});

describe("migrate", () => {
  test("applies the pending migrations of a new store and says so; then there is nothing to do", async () => {
    const dir = tempDir("sessionctl-migrate-");
    try {
      const first = await sessionctl(dir, ["migrate"], { SECRET_KEY: "" });
      expect(first).toMatchObject({ code: 0, stderr: "" });
      expect(first.stdout).toMatch(/^Applied \d+ migrations?; the schema is up to date\.\n$/);
      expect(
        readStore(dir, (db) => db.query("select name from sqlite_master where name = 'sessions'").get()),
      ).toBeTruthy();
      // migrate needs no SECRET_KEY and, unlike the other commands, does not generate one.
      expect(existsSync(join(dir, "secret.key"))).toBe(false);

      const second = await sessionctl(dir, ["migrate"]);
      expect(second).toMatchObject({ code: 0, stdout: "No pending migrations; the schema is up to date.\n" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
