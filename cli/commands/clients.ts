/**
 * `clients list | add | remove`: service keys of internal callers kept in the store (besides the
 * SERVICE_KEYS setting). Only a keyed hash is stored, so `add` prints the key once and never again.
 * Servers look clients up on every request, so changes take effect at once.
 */

import type { Command } from "commander";
import { Refusal } from "../../server/core/admin";
import { iso } from "../../server/core/events";
import type { ServiceClientRow } from "../../server/core/ports";
import { GENERATED_CLIENT, type ServiceKeys } from "../../server/core/service-keys";
import { deleteGeneratedKeyFile } from "../../server/data-files";
import type { CliContext } from "../context";
import { CliError, notFoundError, usageError } from "../exit-codes";
import { examples } from "../options";
import { renderJson, renderTable } from "../render";

/** Names appear in logs and in SERVICE_KEYS-style lists, so keep them plain. */
const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function checkName(name: string): string {
  if (!CLIENT_NAME.test(name)) {
    throw usageError("a client name is 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit");
  }
  return name;
}

/** What the operator is told when adding a client ended the generated key (its file deleted when it is here). */
function generatedKeyEnded(dataDir: string, generated: ServiceClientRow, keys: ServiceKeys): string {
  const deleted = deleteGeneratedKeyFile(dataDir, generated.keyHash, keys);
  return `The generated service key (client ${GENERATED_CLIENT}${deleted ? `, ${deleted}, now deleted` : ""}) no longer works: give its callers a client of their own.\n`;
}

export function registerClientsCommands(program: Command, ctx: CliContext): void {
  const clients = program
    .command("clients")
    .description("Manage the service keys of internal callers (auth-service, gateway).")
    .addHelpText(
      "after",
      examples("sessionctl clients list", "sessionctl clients add gateway", "sessionctl clients remove gateway"),
    );

  clients
    .command("list")
    .description("List clients added with sessionctl (those of the SERVICE_KEYS setting are not in the store).")
    .option("--json", "print one JSON array, for scripts")
    .addHelpText("after", examples("sessionctl clients list", "sessionctl clients list --json"))
    .action(async (opts: { json?: boolean }) => {
      await ctx.withReader(async (admin) => {
        const list = (await admin.listClients()).map((c) => ({
          name: c.name,
          created_at: iso(c.createdAt),
        }));
        if (opts.json) return ctx.io.out(renderJson(list));
        if (list.length === 0) return ctx.io.out("No clients have been added with sessionctl.\n");
        ctx.io.out(
          renderTable(
            ["NAME", "CREATED"],
            list.map((c) => [c.name, c.created_at]),
            ctx.io.isTTY,
          ),
        );
      });
    });

  clients
    .command("add")
    .description(
      "Add a client with a new random service key, printed once (only its hash is stored). Servers accept it at once.",
    )
    .argument("<name>", "the client's name, e.g. gateway")
    .option("--json", 'print {"name", "service_key", "created_at"}, for scripts')
    .addHelpText(
      "after",
      examples("sessionctl clients add gateway", "sessionctl clients add auth-service --json | jq -r .service_key"),
    )
    .action(async (name: string, opts: { json?: boolean }) => {
      checkName(name);
      await ctx.withCore(async (core) => {
        const added = await core.admin.addClient(name).catch((error: unknown) => {
          throw error instanceof Refusal ? new CliError(error.message) : error;
        });
        if (!added) throw new CliError(`client ${name} already exists; remove it first to give it a new key`);
        const { serviceKey, createdAt, generated } = added;
        const ended = generated ? generatedKeyEnded(core.config.dataDir, generated, core.serviceKeys) : "";
        if (opts.json) {
          ctx.io.out(renderJson({ name, service_key: serviceKey, created_at: iso(createdAt) }));
          // Scripts read stdout; the operator still learns that the generated key stopped working.
          if (ended) ctx.io.err(`sessionctl: ${ended}`);
          return;
        }
        ctx.io.out(
          `Added client ${name}. Its service key, shown only this once (only its hash is stored):\n${serviceKey}\n${ended}`,
        );
      });
    });

  clients
    .command("remove")
    .description("Remove a client; servers refuse its service key at once.")
    .argument("<name>", "the client's name")
    .addHelpText("after", examples("sessionctl clients remove gateway"))
    .action(async (name: string) => {
      await ctx.withCore(async (core) => {
        const removed = await core.admin.removeClient(name);
        if (removed) {
          const deleted =
            name === GENERATED_CLIENT
              ? deleteGeneratedKeyFile(core.config.dataDir, removed.keyHash, core.serviceKeys)
              : null;
          return ctx.io.out(
            `Removed client ${name}; its service key no longer works.\n${deleted ? `Deleted ${deleted}.\n` : ""}`,
          );
        }
        const fromSetting = core.config.serviceKeys.has(name)
          ? " (it comes from the SERVICE_KEYS setting: remove it there)"
          : "";
        throw notFoundError(`no client ${name} in the store${fromSetting}`);
      });
    });
}
