/**
 * The Lua scripts (lua/*.lua, each prefixed with lua/prelude.lua), run with EVALSHA. A server
 * that does not know a script (restarted, flushed with SCRIPT FLUSH, a new replica) answers
 * NOSCRIPT: the script is loaded with SCRIPT LOAD and the call repeated once.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { RedisConnection } from "./connection";

const NAMES = [
  "create",
  "rotate",
  "revoke_one",
  "revoke_user",
  "token_lookup",
  "by_token",
  "user_rows",
  "page",
  "stats_page",
  "purge",
  "purge_count",
  "pending",
  "mark_sent",
  "backlog",
  "lease_acquire",
  "lease_release",
  "client_add",
  "client_remove",
] as const;

export type ScriptName = (typeof NAMES)[number];

interface Script {
  source: string;
  sha: string;
}

const dir = join(import.meta.dir, "lua");
const prelude = readFileSync(join(dir, "prelude.lua"), "utf8");

const SCRIPTS = Object.fromEntries(
  NAMES.map((name) => {
    const source = `${prelude}\n-- ${name}.lua\n${readFileSync(join(dir, `${name}.lua`), "utf8")}`;
    return [name, { source, sha: new Bun.CryptoHasher("sha1").update(source).digest("hex") }];
  }),
) as Record<ScriptName, Script>;

const isNoScript = (error: unknown) => error instanceof Error && /^(Redis: )?NOSCRIPT\b/.test(error.message);

export class Scripts {
  constructor(
    private readonly connection: RedisConnection,
    private readonly prefix: string,
  ) {}

  /** Runs a script with the key prefix as ARGV[1] and `args` after it (no KEYS). */
  async run(name: ScriptName, args: (string | number)[]): Promise<unknown> {
    const script = SCRIPTS[name];
    const argv = [this.prefix, ...args.map(String)];
    try {
      return await this.connection.send("EVALSHA", [script.sha, "0", ...argv]);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      await this.connection.send("SCRIPT", ["LOAD", script.source]);
      return this.connection.send("EVALSHA", [script.sha, "0", ...argv]);
    }
  }
}
