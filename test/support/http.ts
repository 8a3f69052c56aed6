/** Small helpers for the HTTP tests: open a session, snapshot the store, check an error answer. */
import { expect } from "bun:test";
import type { TokenPair } from "../../server/core/sessions";
import type { Core } from "../../server/open-core";
import { type openTestApp, serviceAuth } from "./core";

export type TestApp = Awaited<ReturnType<typeof openTestApp>>;

export async function openSession(
  t: TestApp,
  body: Record<string, unknown> = { user_id: "alice" },
): Promise<TokenPair> {
  const res = await t.call("POST", "/session", { body, headers: serviceAuth });
  expect(res.status).toBe(201);
  return (await res.json()) as TokenPair;
}

/** Everything a request could change: sessions (all columns), outbox, counts. */
export async function snapshot(core: Core): Promise<string> {
  const now = core.clock.now();
  return JSON.stringify({
    stats: await core.store.admin.stats(now),
    sessions: await core.store.admin.listSessions({ status: "all", limit: 10_000 }, now),
    events: await core.store.outbox.pendingEvents(10_000),
  });
}

/**
 * Asserts status and error code, that the body is exactly {error, message}, and that none of the
 * submitted values appears in it.
 */
export async function expectError(
  res: Response,
  status: number,
  code: string,
  submitted: string[] = [],
): Promise<string> {
  const text = await res.text();
  expect(res.status).toBe(status);
  const body = JSON.parse(text);
  expect(Object.keys(body).sort()).toEqual(["error", "message"]);
  expect(body.error).toBe(code);
  for (const value of submitted) {
    if (value.length >= 3) expect(text).not.toContain(value);
    // Also its JSON-escaped form, for values with quotes, backslashes or non-ASCII.
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped.length >= 3) expect(text).not.toContain(escaped);
  }
  expect(text).not.toMatch(/\bat .+:\d+:\d+/); // no stack trace
  return text;
}

/** 503 unavailable with a numeric Retry-After and the plain error body. */
export async function expectUnavailable(res: Response): Promise<void> {
  expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
  await expectError(res, 503, "unavailable");
}

/** The JSON body of a response, untyped (tests assert its shape). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const json = async (res: Response): Promise<any> => res.json();
