/**
 * The outside programs the benchmark needs, from Debian: wrk (the load generator) and rsvg-convert
 * (SVG → PNG for the chart). Missing ones are installed with apt-get when we run as root, otherwise
 * the run stops and says what to install.
 */
import { $ } from "bun";

const PACKAGES = { wrk: "wrk", "rsvg-convert": "librsvg2-bin" } as const;
export type Tool = keyof typeof PACKAGES;

/** Like `command -v`: found on PATH. */
const present = async (tool: Tool) => Bun.which(tool) !== null;

export async function ensureTools(tools: Tool[]): Promise<void> {
  const missing: Tool[] = [];
  for (const tool of tools) if (!(await present(tool))) missing.push(tool);
  if (missing.length === 0) return;
  const packages = missing.map((tool) => PACKAGES[tool]);
  if (process.getuid?.() !== 0) {
    throw new Error(`bench needs ${missing.join(", ")}: run  apt-get install -y ${packages.join(" ")}  as root`);
  }
  console.log(`installing ${packages.join(", ")} with apt-get …`);
  const install = await $`apt-get install -y ${packages}`.quiet().nothrow();
  if (install.exitCode !== 0) {
    // A fresh container may have no package lists yet.
    await $`apt-get update`.quiet().nothrow();
    await $`apt-get install -y ${packages}`.quiet();
  }
  for (const tool of missing) if (!(await present(tool))) throw new Error(`${tool} is still missing after apt-get`);
}

/** `wrk -v` prints its version on the first line (and exits 1). */
export async function wrkVersion(): Promise<string> {
  const out = await $`wrk -v`.quiet().nothrow();
  const first = (out.stdout.toString() + out.stderr.toString()).split("\n")[0];
  return first.replace(/\s*Copyright.*$/, "").trim();
}
