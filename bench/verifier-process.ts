/**
 * A verifier alone in its process, for the memory figure of bench/verifier.ts: it starts (reading
 * the stream's revocations), collects garbage, prints one JSON line with its status and start
 * time, and closes when its stdin ends. `bun bench/verifier-process.ts` with JWKS_URL and NATS_URL.
 */
import { createVerifier } from "../verifier/index.ts";

const started = performance.now();
const verifier = await createVerifier({
  jwksUrl: process.env.JWKS_URL!,
  issuer: "session-service",
  audience: "api",
  nats: { servers: process.env.NATS_URL! },
});
const startMs = performance.now() - started;
Bun.gc(true);
console.log(JSON.stringify({ ...verifier.status(), startMs }));
for await (const _ of Bun.stdin.stream()) {
  // wait for the parent to close stdin
}
await verifier.close();
