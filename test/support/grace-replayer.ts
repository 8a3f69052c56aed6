/**
 * The attacker of the Redis abuse check (test/store/redis-abuse.test.ts), as a process of its own:
 * replays one refresh token against POST /session/refresh as fast as it can with `concurrency`
 * requests in flight, for at most `maxMs`, and prints its counts as one JSON line every 50 ms.
 * Usage: bun test/support/grace-replayer.ts BASE_URL REFRESH_TOKEN CONCURRENCY MAX_MS
 * Loopback only: it refuses any other host.
 */
const [base, token, concurrencyText, maxMsText] = process.argv.slice(2);
if (!base || !token || new URL(base).hostname !== "127.0.0.1") {
  console.error("usage: grace-replayer.ts http://127.0.0.1:PORT REFRESH_TOKEN CONCURRENCY MAX_MS");
  process.exit(2);
}
const deadline = Date.now() + Number(maxMsText ?? 20_000);
const counts = { ok: 0, refused: 0, other: 0 };
const body = JSON.stringify({ refresh_token: token });

async function worker(): Promise<void> {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${base}/session/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      await res.arrayBuffer();
      if (res.status === 200) counts.ok++;
      else if (res.status === 401) counts.refused++;
      else counts.other++;
    } catch {
      counts.other++;
    }
  }
}

const report = setInterval(() => console.log(JSON.stringify(counts)), 50);
await Promise.all(Array.from({ length: Number(concurrencyText ?? 16) }, worker));
clearInterval(report);
console.log(JSON.stringify(counts));

export {};
