/**
 * First-start files in the data directory: the secret key and, when no service key is configured
 * at all, a generated one (registered in the store as the client `default`). Both are written
 * with mode 0600 and never logged.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { storeKind } from "../db/open-store";
import { decodeSecretKey } from "./config";
import type { ServiceClientRepository } from "./core/ports";
import { GENERATED_CLIENT, type ServiceKeys } from "./core/service-keys";

function readOrCreate(path: string, create: () => string): string {
  mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
  if (!existsSync(path)) {
    try {
      // "wx": never overwrite a file another process created a moment ago.
      writeFileSync(path, `${create()}\n`, { mode: 0o600, flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  chmodSync(path, 0o600);
  return readFileSync(path, "utf8").trim();
}

/**
 * SECRET_KEY bytes: the setting, or the data folder's secret.key. Only the server (`create`) makes
 * that file on first start. An operator's sessionctl may read it beside an SQLite database, but on
 * a shared store (PostgreSQL, Redis) a secret.key in the operator's folder is never the servers':
 * there the setting is required.
 */
export function loadSecretKey(
  setting: string | null,
  dataDir: string,
  { create, store }: { create: boolean; store: string },
): Uint8Array {
  const path = join(dataDir, "secret.key");
  if (setting === null && !create) {
    if (storeKind(store) !== "sqlite") {
      throw new Error("SECRET_KEY must be set to the servers' SECRET_KEY for a PostgreSQL or Redis store");
    }
    if (!existsSync(path))
      throw new Error(`SECRET_KEY is not set and there is no ${path}; set the servers' SECRET_KEY`);
  }
  const text = setting ?? readOrCreate(path, () => randomBytes(32).toString("hex"));
  const bytes = decodeSecretKey(text);
  if (!bytes) throw new Error(`the secret key in ${join(dataDir, "secret.key")} is not valid`);
  return bytes;
}

/** Where the generated service key lives: ./data/service.key by default. */
export const serviceKeyPath = (dataDir: string) => join(dataDir, "service.key");

/** The hash a ServiceKeys keeps of a key. */
type KeyHasher = Pick<ServiceKeys, "hash">;

/** The key in the file, or null when there is none. */
function readKeyFile(path: string): string | null {
  return existsSync(path) ? readFileSync(path, "utf8").trim() : null;
}

/**
 * The server's first-start service key, when SERVICE_KEYS is unset. With no client at all in the
 * store, a new random key becomes the store's client `default` and then ./data/service.key: a
 * fresh key every time, so a key once removed never comes back, and the file is written only by
 * the server whose row it is (another instance may win the race). Returns the file's path while
 * the key in it is the store's `default`, else null (a real client ended it, or never was one).
 */
export async function generatedServiceKey(
  clients: ServiceClientRepository,
  keys: KeyHasher,
  dataDir: string,
  now: number,
): Promise<string | null> {
  const path = serviceKeyPath(dataDir);
  if ((await clients.listServiceClients()).length === 0) {
    const key = randomBytes(32).toString("base64url");
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const draft = `${path}.${process.pid}.new`;
    writeFileSync(draft, `${key}\n`, { mode: 0o600 });
    if (await clients.addServiceClient({ name: GENERATED_CLIENT, keyHash: keys.hash(key), createdAt: now })) {
      renameSync(draft, path);
      return path;
    }
    unlinkSync(draft);
  }
  const key = readKeyFile(path);
  if (key === null) return null;
  return (await clients.findServiceClientByHash(keys.hash(key)))?.name === GENERATED_CLIENT ? path : null;
}

/**
 * After its client was removed: deletes ./data/service.key when it holds that very key (the
 * operator's data folder is the server's for a SQLite file beside it), so no dead key is left to
 * be mistaken for a live one. Returns the path when it deleted the file.
 */
export function deleteGeneratedKeyFile(dataDir: string, removedKeyHash: string, keys: KeyHasher): string | null {
  const path = serviceKeyPath(dataDir);
  const key = readKeyFile(path);
  if (key === null || keys.hash(key) !== removedKeyHash) return null;
  unlinkSync(path);
  return path;
}
