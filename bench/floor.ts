/** The HTTP floor: floor-server.ts in its own process, driven by wrk exactly like the service. */
import { join } from "node:path";
import { freePort } from "../test/support/server";
import { type LoadResult, runWrk } from "./load";
import { line } from "./measure";
import { spawnUntilReady } from "./processes";
import { settings } from "./settings";

export async function measureHttpFloor(): Promise<LoadResult> {
  const port = await freePort();
  const proc = await spawnUntilReady(["bun", join(import.meta.dir, "floor-server.ts")], "floor ready", {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    PORT: String(port),
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    await runWrk({ url, script: "floor", args: [], seconds: settings.warmupSeconds });
    const result = await runWrk({ url, script: "floor", args: [], seconds: settings.seconds });
    console.log(`    ${line("floor", result)}`);
    return result;
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}
