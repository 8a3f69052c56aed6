/**
 * The HTTP edges: `sessionAuth` (Elysia, driven with app.handle) and `authenticate` (any
 * fetch-style server) give the same answers — claims for a good token; 401 invalid_token with
 * `Bearer error="invalid_token"` for a refused one, plain `Bearer` when no Bearer credential was
 * sent; 503 unavailable with Retry-After — with the plain error body that never echoes the token.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { sessionAuth } from "../../verifier/elysia.ts";
import { authenticate, type Verifier } from "../../verifier/index.ts";
import { expectError } from "../support/http";
import { claims, jwksServer, makeKey, sign, type TestKey, Verifiers } from "./support";

const verifiers = new Verifiers();
let key: TestKey;
let jwks: ReturnType<typeof jwksServer>;
let down: ReturnType<typeof jwksServer>;
let verifier: Verifier;
let unavailable: Verifier;
let good: string;

beforeAll(async () => {
  key = await makeKey();
  jwks = jwksServer({ keys: [key.jwk] });
  down = jwksServer({ keys: [] });
  down.state.failing = "500";
  verifier = await verifiers.start({ jwksUrl: jwks.url });
  unavailable = await verifiers.start({ jwksUrl: down.url, startTimeoutMs: 100 });
  good = await sign(key, claims({ sub: "alice", role: "admin" }));
}, 60_000);
afterAll(async () => {
  await verifiers.closeAll();
  jwks.stop();
  down.stop();
});

const elysiaApp = (v: Verifier) =>
  new Elysia()
    .get("/public", () => "anyone")
    .use(sessionAuth(v))
    .get("/me", ({ session }) => ({ sub: session.sub, sid: session.sid, role: session.role }));

/** The same route as a plain fetch handler. */
const plainHandler = (v: Verifier) => async (request: Request) => {
  const session = await authenticate(v, request);
  if (session instanceof Response) return session;
  return Response.json({ sub: session.sub, sid: session.sid, role: session.role });
};

const edges: Array<[string, (v: Verifier) => (request: Request) => Promise<Response> | Response]> = [
  ["sessionAuth (Elysia)", (v) => (request) => elysiaApp(v).handle(request)],
  ["authenticate (fetch-style)", plainHandler],
];

const call = (
  handler: (request: Request) => Promise<Response> | Response,
  headers: Record<string, string> = {},
  path = "/me",
) => handler(new Request(`http://localhost${path}`, { headers }));

describe.each(edges)("%s", (_, edge) => {
  test("a good token: 200, the claims on the context", async () => {
    const res = await call(edge(verifier), { authorization: `Bearer ${good}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sub: "alice", role: "admin" });
  }, 30_000);

  test("the scheme is case-insensitive", async () => {
    expect((await call(edge(verifier), { authorization: `bearer ${good}` })).status).toBe(200);
  }, 30_000);

  test.each([
    ["no Authorization header", {}],
    ["Basic", { authorization: "Basic YWxpY2U6c2VjcmV0" }],
    ["another scheme with the real token", { authorization: "Token GOOD" }],
    ["the token without a scheme", { authorization: "GOOD" }],
  ])("%s: 401 invalid_token, plain Bearer", async (_, headers: Record<string, string>) => {
    const withToken = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace("GOOD", good)]));
    const res = await call(edge(verifier), withToken);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    await expectError(res, 401, "invalid_token", [good]);
  });

  test("a token in the query string is never read", async () => {
    for (const name of ["access_token", "token"]) {
      const res = await call(edge(verifier), {}, `/me?${name}=${good}`);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      await expectError(res, 401, "invalid_token", [good]);
    }
  }, 30_000);

  test.each([
    ["Bearer alone", "Bearer"],
    ["Bearer with garbage", "Bearer not-a-jwt-GARBAGE"],
    ["Bearer with two tokens", "Bearer GOOD GOOD"],
    ["Bearer with a tampered token", "Bearer TAMPERED"],
  ])('%s: 401 invalid_token, Bearer error="invalid_token"', async (_, header) => {
    const [h, p, s] = good.split(".");
    const tampered = `${h}.${p}x.${s}`;
    const authorization = header.replaceAll("GOOD", good).replace("TAMPERED", tampered);
    const res = await call(edge(verifier), { authorization });
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    await expectError(res, 401, "invalid_token", [good, tampered, "not-a-jwt-GARBAGE"]);
  });

  test("an expired token: 401 invalid_token", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await sign(key, claims({ iat: now - 960, exp: now - 60 }));
    const res = await call(edge(verifier), { authorization: `Bearer ${expired}` });
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    const text = await expectError(res, 401, "invalid_token", [expired]);
    expect(JSON.parse(text).message).toContain("expired");
  }, 30_000);

  test("no keys could be loaded: 503 unavailable with Retry-After", async () => {
    const res = await call(edge(unavailable), { authorization: `Bearer ${good}` });
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(res.headers.get("www-authenticate")).toBeNull();
    await expectError(res, 503, "unavailable", [good]);
  }, 30_000);
});

test("sessionAuth guards only the routes registered after it", async () => {
  const res = await elysiaApp(verifier).handle(new Request("http://localhost/public"));
  expect(res.status).toBe(200);
  expect(await res.text()).toBe("anyone");
}, 30_000);

test("a revoked session through both edges: 401 invalid_token (a verifier whose verify says session_revoked)", async () => {
  const { VerifierError } = await import("../../verifier/errors.ts");
  const revoking = { verify: async () => Promise.reject(new VerifierError("revoked")) } as unknown as Verifier;
  for (const [, edge] of edges) {
    const res = await call(edge(revoking), { authorization: `Bearer ${good}` });
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    const text = await expectError(res, 401, "invalid_token", [good]);
    expect(JSON.parse(text).message).toContain("revoked");
  }
}, 30_000);
