/**
 * The package itself: its own dependencies only (jose, nats; elysia as an optional peer), nothing
 * imported from server/, db/ or cli/, and — built with `bun run build:verifier` — imported by the
 * machine's Node.js (as `@session-service/verifier` through its package.json exports), verifying a
 * real token, refusing a revoked one from the stream, answering through the Elysia plugin, and
 * exiting by itself after close(). The declarations type-check a Node.js ESM consumer.
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/core";
import { runProcess } from "../support/process";
import { PROJECT_ROOT } from "../support/server";
import { openSession, type Stack, startStack, waitFor } from "./support";

const VERIFIER = join(PROJECT_ROOT, "verifier");

const run = runProcess;

test("its own package.json: jose and nats, pinned; elysia an optional peer", () => {
  const pkg = JSON.parse(readFileSync(join(VERIFIER, "package.json"), "utf8"));
  expect(pkg.name).toBe("@session-service/verifier");
  expect(pkg.type).toBe("module");
  expect(Object.keys(pkg.dependencies).sort()).toEqual(["jose", "nats"]);
  for (const version of Object.values(pkg.dependencies)) expect(version).toMatch(/^\d+\.\d+\.\d+$/);
  expect(pkg.peerDependenciesMeta.elysia.optional).toBe(true);
  const root = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8"));
  expect(root.workspaces).toContain("verifier");
}, 30_000);

test("imports nothing but its own files, jose, nats and (elysia.ts only) elysia", () => {
  const sources = readdirSync(VERIFIER).filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"));
  expect(sources.length).toBeGreaterThan(5);
  for (const name of sources) {
    const text = readFileSync(join(VERIFIER, name), "utf8");
    const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]!);
    for (const specifier of specifiers) {
      const allowed =
        /^\.\/[a-z-]+\.js$/.test(specifier) ||
        specifier === "jose" ||
        specifier === "nats" ||
        (name === "elysia.ts" && specifier === "elysia");
      expect(`${name}: ${specifier} ${allowed ? "allowed" : "NOT allowed"}`).toBe(`${name}: ${specifier} allowed`);
    }
  }
}, 30_000);

let stack: Stack;
let consumer: string;
beforeAll(async () => {
  stack = await startStack();
  const build = await run(["bun", "run", "build:verifier"], PROJECT_ROOT);
  if (build.code !== 0) throw new Error(`build:verifier failed:\n${build.stdout}${build.stderr}`);
  // A Node.js project that has the package installed (a symlink, as a workspace or `npm link` makes it).
  consumer = tempDir("verifier-node-consumer-");
  mkdirSync(join(consumer, "node_modules", "@session-service"), { recursive: true });
  symlinkSync(VERIFIER, join(consumer, "node_modules", "@session-service", "verifier"));
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
}, 60_000);
afterAll(async () => {
  await stack.stop();
  rmSync(consumer, { recursive: true, force: true });
});

test("build:verifier writes dist/index.js, dist/elysia.js and their declarations", () => {
  const dist = readdirSync(join(VERIFIER, "dist"));
  for (const file of ["index.js", "index.d.ts", "elysia.js", "elysia.d.ts"]) expect(dist).toContain(file);
  // Ignored by git: a build output.
  expect(readFileSync(join(PROJECT_ROOT, ".gitignore"), "utf8")).toContain("verifier/dist/");
}, 30_000);

test("Node.js imports the built package, verifies, refuses a revoked session, and exits after close()", async () => {
  const valid = await openSession(stack, "node-valid");
  const revoked = await openSession(stack, "node-revoked");
  expect((await stack.api.revoke(revoked.refresh_token)).status).toBe(200);
  await waitFor("the revocation in the stream", async () =>
    (await stack.natsTest.readAll("SESSIONS")).some((m) => m.subject === "session.revoked"),
  );
  writeFileSync(
    join(consumer, "check.mjs"),
    `
import { createVerifier, VerifierError, authenticate } from "@session-service/verifier";
import { sessionAuth } from "@session-service/verifier/elysia";
import { Elysia } from "elysia";
const verifier = await createVerifier({
  jwksUrl: process.env.JWKS_URL, issuer: "session-service", audience: "api",
  nats: { servers: process.env.NATS_URL },
}, 30_000);
const out = { status: verifier.status() };
out.claims = await verifier.verify(process.env.VALID);
const code = (p) => p.then(() => "resolved", (e) => (e instanceof VerifierError ? e.code : String(e)));
out.revoked = await code(verifier.verify(process.env.REVOKED));
out.garbage = await code(verifier.verify("garbage"));
const res = await authenticate(verifier, new Request("http://x/", { headers: {} }));
out.plain = [res.status, res.headers.get("www-authenticate")];
const app = new Elysia().use(sessionAuth(verifier)).get("/", ({ session }) => session.sub);
const ok = await app.handle(new Request("http://localhost/", { headers: { authorization: "Bearer " + process.env.VALID } }));
out.elysia = [ok.status, await ok.text()];
await verifier.close();
console.log(JSON.stringify(out));
// No process.exit: the process ends only if close() released every timer and connection.
`,
  );
  // elysia is the consumer's own dependency (an optional peer of the package).
  symlinkSync(join(PROJECT_ROOT, "node_modules", "elysia"), join(consumer, "node_modules", "elysia"));
  const node = Bun.spawn(["node", "check.mjs"], {
    cwd: consumer,
    env: {
      PATH: process.env.PATH ?? "",
      JWKS_URL: stack.jwksUrl,
      NATS_URL: stack.nats.url,
      VALID: valid.access_token,
      REVOKED: revoked.access_token,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => node.kill("SIGKILL"), 30_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(node.stdout).text(),
    new Response(node.stderr).text(),
    node.exited,
  ]);
  clearTimeout(killer);
  expect({ code, signal: node.signalCode, stderr }).toEqual({ code: 0, signal: null, stderr: "" });
  const out = JSON.parse(stdout);
  expect(out.status).toMatchObject({ keys: 1, revocations: "live", tracked: 1 });
  expect(out.claims).toMatchObject({ sub: "node-valid", sid: valid.session_id });
  expect(out.revoked).toBe("session_revoked");
  expect(out.garbage).toBe("invalid_token");
  expect(out.plain).toEqual([401, "Bearer"]);
  expect(out.elysia).toEqual([200, "node-valid"]);
}, 60_000);

test("the declarations type-check a Node.js ESM consumer (module nodenext)", async () => {
  writeFileSync(
    join(consumer, "consumer.ts"),
    `
import { createVerifier, VerifierError, type AccessTokenClaims, type VerifierStatus } from "@session-service/verifier";
import { sessionAuth } from "@session-service/verifier/elysia";
const verifier = await createVerifier({ jwksUrl: "http://x", issuer: "i", audience: "a", failClosedAfterMs: 5000 });
const claims: AccessTokenClaims = await verifier.verify("t");
const sid: string = claims.sid;
const status: VerifierStatus = verifier.status();
const state: "disabled" | "live" | "catching_up" | "disconnected" = status.revocations;
const lag: number | null = status.lagMs;
try { await verifier.verify("t"); } catch (e) {
  if (e instanceof VerifierError) { const code: "invalid_token" | "token_expired" | "session_revoked" | "unavailable" = e.code; void code; }
}
void sessionAuth(verifier); void sid; void state; void lag;
// @ts-expect-error: an option of the wrong type is caught
await createVerifier({ jwksUrl: "http://x", issuer: "i", audience: "a", clockToleranceSeconds: "5" });
`,
  );
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "nodenext",
        moduleResolution: "nodenext",
        target: "es2022",
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        lib: ["es2022", "dom"],
        types: [],
      },
      files: ["consumer.ts"],
    }),
  );
  const tsc = await run([join(PROJECT_ROOT, "node_modules", ".bin", "tsc"), "-p", "."], consumer);
  expect(tsc.stdout + tsc.stderr).toBe("");
  expect(tsc.code).toBe(0);
}, 60_000);
