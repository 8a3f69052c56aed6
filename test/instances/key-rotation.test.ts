/**
 * `sessionctl keys rotate` against the PostgreSQL database of two running instances: the new key
 * is in both JWKS within 10 s (and does not sign before the JWKS cache time); with `--now` both
 * sign with it within 10 s, and each instance accepts what the other signs, old key and new, from
 * the very first token of the new key on.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { client, type Pair } from "../support/server";
import { waitFor } from "../support/wait";
import { type Cluster, kidOf, openSession, startCluster } from "./cluster";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(() => cluster?.close());

const WITHIN_MS = 10_000;

async function jwksKids(url: string): Promise<string[]> {
  const res = await fetch(`${url}/.well-known/jwks.json`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
}

/** Runs `sessionctl keys rotate …` and returns the new kid it reports. */
async function rotate(args: string[] = []): Promise<string> {
  const result = await cluster.cli(["keys", "rotate", ...args]);
  expect(result).toMatchObject({ code: 0, stderr: "" });
  const kid = /signing key (\S+): published now/.exec(result.stdout)?.[1];
  if (!kid) throw new Error(`no kid in: ${result.stdout}`);
  return kid;
}

/** Each instance accepts (GET /session/me → 200) every token. */
async function expectAcceptedEverywhere(tokens: Pair[]) {
  for (const url of [cluster.a.url, cluster.b.url]) {
    for (const pair of tokens) {
      const res = await client(url).me(pair.access_token);
      expect({ url, kid: kidOf(pair.access_token), status: res.status }).toEqual({
        url,
        kid: kidOf(pair.access_token),
        status: 200,
      });
    }
  }
}

test("both instances start on one signing key and serve the same JWKS", async () => {
  const [a, b] = [await openSession(cluster.a.url, "kr-a"), await openSession(cluster.b.url, "kr-b")];
  expect(kidOf(a.access_token)).toBe(kidOf(b.access_token));
  expect(await jwksKids(cluster.a.url)).toEqual(await jwksKids(cluster.b.url));
});

test("keys rotate: the new key is in both instances' JWKS within 10 s and does not sign yet", async () => {
  const before = kidOf((await openSession(cluster.a.url, "kr-before")).access_token);
  const started = Date.now();
  const kid = await rotate();
  expect(kid).not.toBe(before);
  for (const server of [cluster.a, cluster.b]) {
    await waitFor(
      `${kid} in the JWKS of ${server.url}`,
      async () => (await jwksKids(server.url)).includes(kid),
      WITHIN_MS - (Date.now() - started),
      100,
    );
  }
  expect(Date.now() - started).toBeLessThan(WITHIN_MS);
  // Published ahead of rotation: both still sign with the old key (it signs after the cache time).
  for (const server of [cluster.a, cluster.b]) {
    const pair = await openSession(server.url, "kr-pending");
    expect(kidOf(pair.access_token)).toBe(before);
    expect(await jwksKids(server.url)).toContain(before);
  }
}, 20_000);

test("keys rotate --now: both sign with the new key within 10 s and accept each other's tokens of either key", async () => {
  const old = [await openSession(cluster.a.url, "krn-a-old"), await openSession(cluster.b.url, "krn-b-old")];
  const oldKid = kidOf(old[0]!.access_token);
  expect(kidOf(old[1]!.access_token)).toBe(oldKid);

  const started = Date.now();
  const kid = await rotate(["--now"]);
  // Poll both instances; the first token of the new key from either must be accepted by the other
  // at once, even if the other has not switched yet.
  const fresh: Pair[] = [];
  const switched = new Set<string>();
  while (switched.size < 2) {
    if (Date.now() - started > WITHIN_MS) throw new Error(`not both signing with ${kid} within 10 s: ${[...switched]}`);
    for (const [name, server, other] of [
      ["A", cluster.a, cluster.b],
      ["B", cluster.b, cluster.a],
    ] as const) {
      if (switched.has(name)) continue;
      const pair = await openSession(server.url, `krn-${name}-new`);
      if (kidOf(pair.access_token) !== kid) continue;
      switched.add(name);
      fresh.push(pair);
      const onOther = await client(other.url).me(pair.access_token);
      expect({ first_token_of_new_key_from: name, status: onOther.status }).toEqual({
        first_token_of_new_key_from: name,
        status: 200,
      });
    }
    await Bun.sleep(50);
  }
  // Both JWKS list both keys: the old one verifies until its last token has expired.
  for (const server of [cluster.a, cluster.b])
    expect(await jwksKids(server.url)).toEqual(expect.arrayContaining([oldKid, kid]));
  await expectAcceptedEverywhere([...old, ...fresh]);
  // Refreshing an old-key session on either instance now hands out new-key tokens.
  const refreshed = (await (await client(cluster.b.url).refresh(old[0]!.refresh_token)).json()) as Pair;
  expect(kidOf(refreshed.access_token)).toBe(kid);
  await expectAcceptedEverywhere([refreshed]);
}, 20_000);
