/**
 * The HTTP floor: a trivial Elysia route of the same shape as the service's (a POST with a small
 * JSON body, validated by a `t` schema, answering small JSON), in its own process. What the service
 * adds on top of this (auth, hashing, store, signing, logging, metrics) is what the ratios show.
 *   PORT=… bun bench/floor-server.ts
 */
import { Elysia, t } from "elysia";

const port = Number(process.env.PORT);
new Elysia()
  .post("/floor", ({ body }) => ({ active: false, length: body.refresh_token.length }), {
    body: t.Object({ refresh_token: t.String() }),
  })
  .listen({ port, hostname: "127.0.0.1" });
console.log("floor ready");
