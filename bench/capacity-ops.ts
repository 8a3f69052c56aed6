/**
 * The API calls the capacity benchmark measures, one request each, failing on any answer but the
 * expected status: a figure counted over failed requests would be wrong.
 */
import { SERVICE_KEY } from "../test/support/core";

export interface Pair {
  session_id: string;
  access_token: string;
  refresh_token: string;
}

const USER_AGENT =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

export class Api {
  constructor(private readonly base: string) {}

  private async call(path: string, init: RequestInit, expected: number): Promise<Response> {
    const response = await fetch(`${this.base}${path}`, init);
    if (response.status !== expected) {
      throw new Error(
        `${init.method ?? "GET"} ${path}: ${response.status} (expected ${expected}) ${await response.text()}`,
      );
    }
    return response;
  }

  private post(path: string, body: unknown, headers: Record<string, string>, expected: number) {
    return this.call(
      path,
      { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) },
      expected,
    );
  }

  async create(userId: string, dpopJkt?: string): Promise<Pair> {
    const body = {
      user_id: userId,
      user_agent: USER_AGENT,
      ip: "192.0.2.1",
      ...(dpopJkt ? { dpop_jkt: dpopJkt } : {}),
    };
    const response = await this.post("/session", body, { authorization: `Bearer ${SERVICE_KEY}` }, 201);
    return (await response.json()) as Pair;
  }

  async refresh(refreshToken: string, dpopProof?: string): Promise<Pair> {
    const headers: Record<string, string> = dpopProof ? { dpop: dpopProof } : {};
    const response = await this.post(
      "/session/refresh",
      { refresh_token: refreshToken, user_agent: USER_AGENT },
      headers,
      200,
    );
    return (await response.json()) as Pair;
  }

  async validate(refreshToken: string): Promise<void> {
    const response = await this.post(
      "/session/validate",
      { refresh_token: refreshToken },
      { authorization: `Bearer ${SERVICE_KEY}` },
      200,
    );
    const answer = (await response.json()) as { active: boolean };
    if (!answer.active) throw new Error("validate: a live session answered inactive");
  }

  async me(accessToken: string): Promise<number> {
    const response = await this.call("/session/me", { headers: { authorization: `Bearer ${accessToken}` } }, 200);
    return ((await response.json()) as { sessions: unknown[] }).sessions.length;
  }

  async revokeByToken(refreshToken: string): Promise<void> {
    await this.post("/session/revoke", { refresh_token: refreshToken }, {}, 200);
  }

  async deleteOne(accessToken: string, sessionId: string): Promise<void> {
    await this.call(
      `/session/${sessionId}`,
      { method: "DELETE", headers: { authorization: `Bearer ${accessToken}` } },
      204,
    );
  }

  async deleteAll(accessToken: string): Promise<number> {
    const response = await this.call(
      "/session/all",
      { method: "DELETE", headers: { authorization: `Bearer ${accessToken}` } },
      200,
    );
    return ((await response.json()) as { revoked: number }).revoked;
  }
}

/** Runs `work` over `items` with `concurrency` in flight (for preparing, never for measuring). */
export async function inParallel<T, R>(items: T[], concurrency: number, work: (item: T, i: number) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!, i);
      }
    }),
  );
  return out;
}
