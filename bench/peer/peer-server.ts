/**
 * The peer's process: oidc-provider (provider.ts) on PORT with the adapter PEER_ADAPTER (`sqlite`
 * on the file PEER_DB, or `memory`), and on CONTROL_PORT a small control API the benchmark uses
 * between runs, never during one:
 *   POST /seed  {count, file, prefix}  mint `count` grants + refresh tokens through the provider's
 *                                      models, write the token values to `file`, one a line
 *   POST /check {file}                 what became of those tokens, read back through the models:
 *                                      still current, consumed (rotated away) or gone (revoked)
 *   GET  /counters                     the provider's own events counted since start
 * Both listen on 127.0.0.1 only. Prints "peer ready" once both are up.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { memoryAdapter } from "./memory-adapter";
import { createProvider, mintRefreshToken } from "./provider";
import { openSqliteAdapter } from "./sqlite-adapter";

const HOST = "127.0.0.1";
const port = Number(process.env.PORT);
const controlPort = Number(process.env.CONTROL_PORT);
const kind = process.env.PEER_ADAPTER;
const clientSecret = process.env.PEER_CLIENT_SECRET ?? "";
if (!port || !controlPort || clientSecret.length < 32) throw new Error("PORT, CONTROL_PORT, PEER_CLIENT_SECRET needed");

const sqlite = kind === "sqlite" ? openSqliteAdapter(process.env.PEER_DB ?? "") : null;
if (!sqlite && kind !== "memory") throw new Error(`PEER_ADAPTER must be sqlite or memory, not ${kind}`);
const adapter = sqlite ? sqlite.factory : memoryAdapter();
const provider = createProvider({ issuer: `http://${HOST}:${port}`, adapter, clientSecret });

/** The provider's events, counted: what it says it did, next to what the checks read back. */
const counters: Record<string, number> = {};
const count = (name: string) => {
  counters[name] = (counters[name] ?? 0) + 1;
};
provider.on("refresh_token.consumed", () => count("refreshTokenConsumed"));
provider.on("refresh_token.saved", (token: { rotations?: number }) =>
  count(token.rotations ? "refreshTokenRotated" : "refreshTokenSeeded"),
);
provider.on("refresh_token.destroyed", () => count("refreshTokenDestroyed"));
provider.on("access_token.issued", () => count("accessTokenIssued"));
provider.on("grant.revoked", () => count("grantRevoked"));
for (const event of ["server_error", "grant.error", "introspection.error", "revocation.error"] as const) {
  provider.on(event as "server_error", (_ctx: unknown, error: Error) => {
    count(event);
    // The first few in the log (its file is kept with the run's folder), without token values.
    if ((counters[event] ?? 0) <= 3) console.error(`${event}: ${error?.name}: ${error?.message}`);
  });
}

const SEED_BATCH = 500;

async function seed({ count: n, file, prefix }: { count: number; file: string; prefix: string }) {
  const started = performance.now();
  const tokens: string[] = [];
  for (let start = 0; start < n; start += SEED_BATCH) {
    const batch = Array.from({ length: Math.min(SEED_BATCH, n - start) }, (_, k) =>
      mintRefreshToken(provider, `${prefix}-${start + k}`),
    );
    tokens.push(...(await Promise.all(batch)));
  }
  writeFileSync(file, `${tokens.join("\n")}\n`);
  return { seeded: tokens.length, seconds: (performance.now() - started) / 1000 };
}

async function check({ file }: { file: string }) {
  const tally = { tokens: 0, current: 0, consumed: 0, gone: 0 };
  for (const value of readFileSync(file, "utf8").split("\n")) {
    if (!value) continue;
    tally.tokens++;
    const token = await provider.RefreshToken.find(value, { ignoreExpiration: true });
    if (!token) tally.gone++;
    else if (token.consumed) tally.consumed++;
    else tally.current++;
  }
  return tally;
}

const server = provider.listen(port, HOST);
Bun.serve({
  hostname: HOST,
  port: controlPort,
  async fetch(request) {
    const path = new URL(request.url).pathname;
    try {
      if (request.method === "POST" && path === "/seed")
        return Response.json(await seed((await request.json()) as never));
      if (request.method === "POST" && path === "/check")
        return Response.json(await check((await request.json()) as never));
      if (path === "/counters") return Response.json(counters);
      return new Response("not found", { status: 404 });
    } catch (error) {
      return new Response(String(error), { status: 500 });
    }
  },
});

server.on("listening", () => console.log("peer ready"));
const stop = async () => {
  server.close();
  await sqlite?.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
