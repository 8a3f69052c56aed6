#!/usr/bin/env bun
/**
 * Composition root of sessionctl: the only CLI file that reads the environment and the process's
 * streams. Settings are parsed here but only checked when a command needs them, so --help works
 * anywhere.
 */
import { loadConfig } from "../server/config";
import { createContext } from "./context";
import { runCli } from "./program";

const ctx = createContext(loadConfig(process.env), {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  isTTY: Boolean(process.stdout.isTTY),
});

// exitCode rather than process.exit(): a pipe gets all of stdout before the process ends.
process.exitCode = await runCli(process.argv.slice(2), ctx);
