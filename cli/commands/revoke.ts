/**
 * `revoke`: ends one session or every active session of a user through the same core calls the
 * HTTP logout uses, so the store writes the same session.revoked outbox event (reason `admin`)
 * and the running servers refuse the session's access tokens at once.
 */
import type { Command } from "commander";
import { isServiceError } from "../../server/core/errors";
import { sessionStatus } from "../../server/core/ports";
import type { CliContext } from "../context";
import { notFoundError, usageError } from "../exit-codes";
import { examples } from "../options";
import { plural } from "../render";
import { describeSessionId } from "./sessions";

/**
 * The contract fixes the recorded reason to `admin` (consumers switch on it), so --reason is an
 * operator's note: it is printed with the result, for the terminal log or the ticket, not stored.
 */
const noteOf = (reason?: string) => (reason ? ` Note: ${JSON.stringify(reason)}.` : "");

export function registerRevokeCommand(program: Command, ctx: CliContext): void {
  program
    .command("revoke")
    .description("Revoke a session, or every active session of a user (reason admin; emits session.revoked).")
    .argument("[session_id]", "the session to revoke")
    .option("--user <id>", "revoke every active session of this user instead")
    .option("--reason <text>", "why (an operator's note printed with the result; the event's reason stays admin)")
    .addHelpText(
      "after",
      examples(
        "sessionctl revoke 0193a5c2-7b1e-7c3a-9d2f-4e5b6a7c8d9e --reason 'stolen laptop, ticket 4711'",
        "sessionctl revoke --user alice --reason 'account compromised'",
      ),
    )
    .action(async (sessionId: string | undefined, opts: { user?: string; reason?: string }) => {
      if ((sessionId === undefined) === (opts.user === undefined)) {
        throw usageError("revoke needs either a SESSION_ID or --user ID (not both)");
      }
      await ctx.withCore(async (core) => {
        if (opts.user !== undefined) {
          const count = await core.sessions.revokeUserByAdmin(opts.user);
          ctx.io.out(
            `Revoked ${plural(count, "active session")} of user ${opts.user} (reason admin).${noteOf(opts.reason)}\n`,
          );
          return;
        }
        const id = sessionId!;
        let changed: boolean;
        try {
          changed = await core.sessions.revokeByAdmin(id);
        } catch (error) {
          if (isServiceError(error) && error.code === "not_found") throw notFoundError(`no ${describeSessionId(id)}`);
          throw error;
        }
        if (changed) {
          ctx.io.out(`Revoked session ${id} (reason admin).${noteOf(opts.reason)}\n`);
        } else {
          const row = await core.admin.findSession(id);
          const status = row ? sessionStatus(row, core.clock.now()) : "gone";
          ctx.io.out(`Session ${id} had already ended (${status}); nothing changed.\n`);
        }
      });
    });
}
