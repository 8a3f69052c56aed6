/** `migrate`: applies pending schema migrations and says how many it applied. */
import type { Command } from "commander";
import type { CliContext } from "../context";
import { migrateStore } from "../migrate-store";
import { examples } from "../options";
import { plural } from "../render";

export function registerMigrateCommand(program: Command, ctx: CliContext): void {
  program
    .command("migrate")
    .description(
      "Apply pending schema migrations to the store (the server also does this when it starts). Needs no SECRET_KEY.",
    )
    .addHelpText(
      "after",
      examples(
        "DATABASE_URL=sqlite:/var/lib/sessions/sessions.db sessionctl migrate",
        "DATABASE_URL=postgres://sessions@db.internal/sessions sessionctl migrate",
      ),
    )
    .action(async () => {
      const applied = await migrateStore(ctx.config());
      ctx.io.out(
        applied === 0
          ? "No pending migrations; the schema is up to date.\n"
          : `Applied ${plural(applied, "migration")}; the schema is up to date.\n`,
      );
    });
}
