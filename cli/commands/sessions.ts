/** `list` and `show`: read-only views of sessions, as tables or as session objects (--json). */
import { type Command, Option } from "commander";
import type { SessionStatus } from "../../server/core/ports";
import { isSessionId } from "../../server/core/sessions";
import type { CliContext } from "../context";
import { notFoundError } from "../exit-codes";
import { examples, wholeNumber } from "../options";
import { renderJson, renderRecord, renderTable, truncate } from "../render";
import { deviceLabel, type SessionObject, sessionObject } from "../session-object";

const STATUSES = ["active", "revoked", "expired", "all"] as const;

/** A mistyped id is named in the message only when it looks like one: never echo pasted tokens. */
export const describeSessionId = (id: string) =>
  isSessionId(id) ? `session ${id}` : "session (that is not a session id)";

const statusText = (s: SessionObject) => (s.status === "revoked" ? `revoked (${s.revoke_reason})` : s.status);

export function registerSessionCommands(program: Command, ctx: CliContext): void {
  program
    .command("list")
    .description("List sessions, newest first.")
    .option("--user <id>", "only the sessions of this user")
    .addOption(new Option("--status <status>", "only sessions in this state").choices(STATUSES).default("all"))
    .option("--limit <n>", "show at most N sessions", wholeNumber(1, 1_000_000), 100)
    .option("--json", "print one JSON array of session objects, for scripts")
    .addHelpText(
      "after",
      examples("sessionctl list --user alice --status active", "sessionctl list --status revoked --limit 20 --json"),
    )
    .action(async (opts: { user?: string; status: SessionStatus | "all"; limit: number; json?: boolean }) => {
      await ctx.withReader(async (admin) => {
        const rows = await admin.listSessions({ userId: opts.user, status: opts.status, limit: opts.limit });
        const now = Date.now();
        const sessions = rows.map((row) => sessionObject(row, now));
        if (opts.json) return ctx.io.out(renderJson(sessions));
        if (sessions.length === 0) return ctx.io.out("No sessions match.\n");
        const head = [
          "SESSION_ID",
          "USER_ID",
          "STATUS",
          "NAME",
          "CREATED",
          "LAST_USED",
          "EXPIRES",
          "IP",
          "DEVICE",
          "USER_AGENT",
        ];
        const cells = sessions.map((s) => [
          s.session_id,
          s.user_id,
          statusText(s),
          s.name ?? "",
          s.created_at,
          s.last_used_at,
          s.expires_at,
          s.ip,
          truncate(deviceLabel(s.device), 32),
          truncate(s.user_agent, 40),
        ]);
        ctx.io.out(renderTable(head, cells, ctx.io.isTTY));
      });
    });

  program
    .command("show")
    .description("Show one session.")
    .argument("<session_id>", "the session's id (a UUID)")
    .option("--json", "print the session object as JSON, for scripts")
    .addHelpText("after", examples("sessionctl show 0193a5c2-7b1e-7c3a-9d2f-4e5b6a7c8d9e --json"))
    .action(async (sessionId: string, opts: { json?: boolean }) => {
      await ctx.withReader(async (admin) => {
        const row = await admin.findSession(sessionId);
        if (!row) throw notFoundError(`no ${describeSessionId(sessionId)}`);
        const s = sessionObject(row, Date.now());
        if (opts.json) return ctx.io.out(renderJson(s));
        ctx.io.out(
          renderRecord(
            [
              ["session_id", s.session_id],
              ["user_id", s.user_id],
              ["status", s.status],
              ["created_at", s.created_at],
              ["last_used_at", s.last_used_at],
              ["expires_at", s.expires_at],
              ["revoked_at", s.revoked_at],
              ["revoke_reason", s.revoke_reason],
              ["name", s.name],
              ["bound", s.bound ? "yes (DPoP)" : "no"],
              ["ip", s.ip],
              ["user_agent", s.user_agent],
              ["device", deviceLabel(s.device)],
              ["device_type", s.device?.type ?? null],
            ],
            ctx.io.isTTY,
          ),
        );
      });
    });
}
