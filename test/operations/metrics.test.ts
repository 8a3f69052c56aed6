/** /metrics and lifecycle log lines against the real server: every outcome and reason is counted. */
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tempDir } from "../support/core";
import { client, type Pair, ServerPool } from "../support/server";
import { waitFor } from "../support/wait";

const pool = new ServerPool();
const dir = tempDir();
afterAll(async () => {
  await pool.killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** The value of one sample line, e.g. metric(text, 'session_refresh_total{outcome="rotated"}'). */
function metric(text: string, sample: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

test("refresh outcomes, created and revoked by reason, outbox backlog, and the matching log lines", async () => {
  // The store gauges come from a background pass: a short interval, and the test waits for it.
  const server = await pool.start(dir, {
    REFRESH_REUSE_GRACE: "1s",
    SESSION_IDLE_TIMEOUT: "2s",
    STORE_STATS_INTERVAL: "100ms",
  });
  const api = client(server.url);
  const open = async (user: string) => (await (await api.create({ user_id: user })).json()) as Pair;

  const a = await open("metrics-a");
  const rotated = (await (await api.refresh(a.refresh_token)).json()) as Pair;
  expect((await api.refresh(a.refresh_token)).status).toBe(200); // grace replay
  expect((await api.refresh("not-a-token")).status).toBe(401); // invalid
  await Bun.sleep(1_100);
  expect((await api.refresh(a.refresh_token)).status).toBe(401); // reuse after the grace window
  const b = await open("metrics-b");
  await api.logout(b.access_token, b.session_id);
  const c = await open("metrics-c");
  await Bun.sleep(2_100);
  expect((await api.refresh(c.refresh_token)).status).toBe(401); // expired (idle)

  const text = await waitFor("the background store statistics after the last change", async () => {
    const scraped = await (await fetch(`${server.url}/metrics`)).text();
    const settled = metric(scraped, "outbox_pending_events") === 5 && scraped.includes("\nsessions_active 0");
    return settled ? scraped : null;
  });
  expect(metric(text, 'session_refresh_total{outcome="rotated"}')).toBe(1);
  expect(metric(text, 'session_refresh_total{outcome="grace_replay"}')).toBe(1);
  expect(metric(text, 'session_refresh_total{outcome="invalid"}')).toBe(1);
  expect(metric(text, 'session_refresh_total{outcome="reuse_revoked"}')).toBe(1);
  expect(metric(text, 'session_refresh_total{outcome="expired"}')).toBe(1);
  expect(metric(text, "sessions_created_total")).toBe(3);
  expect(metric(text, 'sessions_revoked_total{reason="refresh_token_reuse"}')).toBe(1);
  expect(metric(text, 'sessions_revoked_total{reason="logout"}')).toBe(1);
  expect(metric(text, "sessions_active")).toBe(0);
  // NATS_URL is unset: every event waits in the outbox.
  expect(metric(text, "outbox_pending_events")).toBe(5);
  expect(metric(text, "outbox_oldest_pending_age_seconds")).toBeGreaterThan(2);
  expect(text).toContain(
    'http_request_duration_seconds_bucket{le="0.005",route="/session/refresh",method="POST",status="200"}',
  );
  for (const secret of [a.refresh_token, rotated.refresh_token, a.access_token, "metrics-a", a.session_id]) {
    expect(text).not.toContain(secret);
  }

  // Log lines reach this process through a pipe, possibly after the answers did: wait for the last one.
  const logs = await waitFor("the logout's log line", () => {
    const text = server.logs();
    return /"reason":"logout","msg":"session revoked"/.test(text) ? text : null;
  });
  expect(logs).toContain('"msg":"session created"');
  expect(logs).toContain('"msg":"session rotated"');
  expect(logs).toMatch(
    /"level":40,[^\n]*"session_id":"[^"]+","user_id":"metrics-a","msg":"refresh token reuse detected"/,
  );
  expect(logs).toMatch(/"reason":"logout","msg":"session revoked"/);
  for (const secret of [a.refresh_token, rotated.refresh_token, a.access_token]) expect(logs).not.toContain(secret);
});
