/**
 * First-start files in the data directory: the secret key and, when no service key is configured
 * at all, a generated one. Both are written with mode 0600 and never logged.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { storeKind } from "../db/open-store";
import { decodeSecretKey } from "./config";

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

export const GENERATED_CLIENT = "default";

/** Where the generated service key lives: ./data/service.key by default. */
export const serviceKeyPath = (dataDir: string) => join(dataDir, "service.key");

/** The generated service key ./data/service.key, created when nothing else grants access. */
export function loadGeneratedServiceKey(dataDir: string, mayCreate: boolean): string | null {
  const path = serviceKeyPath(dataDir);
  if (!existsSync(path) && !mayCreate) return null;
  return readOrCreate(path, () => randomBytes(32).toString("base64url"));
}
