/**
 * The Lua scripts (lua/*.lua, each prefixed with lua/prelude.lua), run with EVALSHA — the ones
 * that only read with EVALSHA_RO, so Redis itself refuses a write from them (and a replica runs
 * them). A store opened read-only runs no writing script at all. A server that does not know a
 * script (restarted, flushed with SCRIPT FLUSH, a new replica) answers NOSCRIPT: the script is
 * loaded with SCRIPT LOAD and the call repeated once.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { RedisConnection } from "./connection";

/** Each script and whether it writes. */
const NAMES = {
  create: true,
  rotate: true,
  replay_grace: true,
  revoke_one: true,
  revoke_user: true,
  rename: true,
  live: false,
  user_sessions: false,
  page: false,
  stats_page: false,
  backlog: false,
  purge: true,
  purge_count: false,
  pending: false,
  mark_sent: true,
  lease_acquire: true,
  lease_release: true,
  client_add: true,
  client_remove: true,
  key_retire: true,
} as const;

export type ScriptName = keyof typeof NAMES;

interface Script {
  source: string;
  sha: string;
  writes: boolean;
}

const dir = join(import.meta.dir, "lua");
const prelude = readFileSync(join(dir, "prelude.lua"), "utf8");

const SCRIPTS = Object.fromEntries(
  Object.entries(NAMES).map(([name, writes]) => {
    const source = `${prelude}\n-- ${name}.lua\n${readFileSync(join(dir, `${name}.lua`), "utf8")}`;
    return [name, { source, sha: new Bun.CryptoHasher("sha1").update(source).digest("hex"), writes }];
  }),
) as Record<ScriptName, Script>;

const isNoScript = (error: unknown) => error instanceof Error && /^(Redis: )?NOSCRIPT\b/.test(error.message);

export class Scripts {
  constructor(
    private readonly connection: RedisConnection,
    private readonly prefix: string,
    private readonly readOnly: boolean,
  ) {}

  /** Runs a script with the key prefix as ARGV[1] and `args` after it (no KEYS). */
  async run(name: ScriptName, args: (string | number)[]): Promise<unknown> {
    const script = SCRIPTS[name];
    if (script.writes && this.readOnly) throw new Error(`the Redis store was opened read-only (${name} writes)`);
    const command = script.writes ? "EVALSHA" : "EVALSHA_RO";
    const argv = [script.sha, "0", this.prefix, ...args.map(String)];
    try {
      return await this.connection.send(command, argv);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      await this.connection.send("SCRIPT", ["LOAD", script.source]);
      return this.connection.send(command, argv);
    }
  }
}
