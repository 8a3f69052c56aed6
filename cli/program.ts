/**
 * The commander program of sessionctl. exitOverride + configureOutput keep commander from calling
 * process.exit or writing to the real streams, so runCli can be driven with any CliIO and always
 * returns the exit status instead.
 */
import { Command, CommanderError } from "commander";
import { DrizzleQueryError } from "drizzle-orm";
import pkg from "../package.json";
import { isServiceError } from "../server/core/errors";
import { registerClientsCommands } from "./commands/clients";
import { registerKeysCommands } from "./commands/keys";
import { registerMigrateCommand } from "./commands/migrate";
import { registerPurgeCommand } from "./commands/purge";
import { registerRevokeCommand } from "./commands/revoke";
import { registerSessionCommands } from "./commands/sessions";
import { registerStatsCommand } from "./commands/stats";
import type { CliContext } from "./context";
import { CliError, EXIT, EXIT_CODE, type ExitCode } from "./exit-codes";
import { examples } from "./options";

/** Errors are one line on stderr: newlines collapsed, never a stack trace. */
const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim();

/** Drizzle's query errors quote the SQL parameters (key hashes, encrypted keys): report only the cause. */
function unexpectedMessage(error: unknown): string {
  if (error instanceof DrizzleQueryError) return `store error: ${unexpectedMessage(error.cause)}`;
  return error instanceof Error ? error.message : String(error);
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command("sessionctl")
    .description(
      "Operate the Session Service store: sessions, signing keys and service clients. Uses the server's settings (DATABASE_URL, SECRET_KEY, …).",
    )
    .version(pkg.version)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.out(text),
      writeErr: (text) => ctx.io.err(text),
      outputError: (text, write) => write(`sessionctl: ${oneLine(text.replace(/^error: /, ""))} (see --help)\n`),
    })
    .addHelpText(
      "after",
      examples(
        "sessionctl list --user alice",
        "sessionctl revoke --user alice",
        "sessionctl stats --json",
        "sessionctl <command> --help",
      ),
    );
  // Subcommands are made with .command(), so they inherit the settings above.
  registerSessionCommands(program, ctx);
  registerRevokeCommand(program, ctx);
  registerPurgeCommand(program, ctx);
  registerStatsCommand(program, ctx);
  registerMigrateCommand(program, ctx);
  registerKeysCommands(program, ctx);
  registerClientsCommands(program, ctx);
  return program;
}

function exitCodeOf(error: unknown, ctx: CliContext): ExitCode {
  if (error instanceof CommanderError) {
    // commander has already written help or its message; only the status is left to decide.
    return error.code === "commander.helpDisplayed" || error.code === "commander.version" ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof CliError) {
    ctx.io.err(`sessionctl: ${oneLine(error.message)}\n`);
    return error.exitCode;
  }
  if (isServiceError(error)) {
    ctx.io.err(`sessionctl: ${oneLine(error.message)}\n`);
    return EXIT_CODE[error.code];
  }
  ctx.io.err(`sessionctl: ${oneLine(unexpectedMessage(error)) || "unexpected error"}\n`);
  return EXIT.error;
}

/** Runs one command line (without "bun cli/main.ts") and returns the exit status. */
export async function runCli(argv: string[], ctx: CliContext): Promise<ExitCode> {
  try {
    await buildProgram(ctx).parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (error) {
    return exitCodeOf(error, ctx);
  }
}
