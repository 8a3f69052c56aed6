/**
 * `keys list | rotate | retire`: the signing key ring in the store. Running servers reload it
 * every 5 s, so a new key is in their JWKS within 10 s. It signs only after the JWKS cache time
 * (verifiers must have had the chance to fetch it) unless --now; a key that stopped signing stays
 * published until the last token it signed has expired, which is why retire refuses such keys.
 */
import type { Command } from "commander";
import { Refusal } from "../../server/core/admin";
import { iso } from "../../server/core/events";
import type { CliContext } from "../context";
import { CliError, notFoundError } from "../exit-codes";
import { examples } from "../options";
import { renderJson, renderTable } from "../render";

export function registerKeysCommands(program: Command, ctx: CliContext): void {
  const keys = program
    .command("keys")
    .description("Manage the access-token signing keys.")
    .addHelpText("after", examples("sessionctl keys list", "sessionctl keys rotate", "sessionctl keys retire <kid>"));

  keys
    .command("list")
    .description("List signing keys: signing, pending (published, signs later), published (verifies only) or retired.")
    .option("--json", "print one JSON array, for scripts")
    .addHelpText("after", examples("sessionctl keys list", "sessionctl keys list --json"))
    .action(async (opts: { json?: boolean }) => {
      await ctx.withReader(async (admin) => {
        const list = await admin.listKeys();
        if (opts.json) return ctx.io.out(renderJson(list));
        const head = ["KID", "ALG", "STATUS", "CREATED", "ACTIVATES", "RETIRED"];
        ctx.io.out(
          renderTable(
            head,
            list.map((k) => [k.kid, k.alg, k.status, k.created_at, k.activates_at, k.retired_at]),
            ctx.io.isTTY,
          ),
        );
      });
    });

  keys
    .command("rotate")
    .description(
      `Create a new signing key. It is published at once (running servers list it within 10 s) and signs ` +
        `after the JWKS cache time (JWKS_MAX_AGE, default 5 minutes) and one key reload (KEY_RELOAD_INTERVAL, 5 s), once verifiers' cached JWKS include it. ` +
        `The old key keeps verifying until its tokens expire.`,
    )
    .option(
      "--now",
      "sign with the new key at once (within 10 s); verifiers holding an older cached JWKS may refuse its tokens until they refetch it",
    )
    .addHelpText("after", examples("sessionctl keys rotate", "sessionctl keys rotate --now"))
    .action(async (opts: { now?: boolean }) => {
      await ctx.withCore(async (core) => {
        const row = await core.admin.rotateKey(Boolean(opts.now));
        const when = opts.now
          ? "now (running servers switch within 10 s)"
          : `${iso(row.activatesAt)} (after the ${core.config.jwksMaxAgeMs / 1000} s JWKS cache time and one ${core.config.timers.keyReloadMs / 1000} s key reload)`;
        ctx.io.out(`Created ${row.alg} signing key ${row.kid}: published now, signing from ${when}.\n`);
      });
    });

  keys
    .command("retire")
    .description(
      "Retire a key: it neither signs nor verifies any more. Refuses a key still signing or whose tokens may be alive.",
    )
    .argument("<kid>", "the key id (see keys list)")
    .option(
      "--force",
      "retire it anyway: its live tokens stop verifying; retiring the signing key first creates a new one that signs at once",
    )
    .addHelpText(
      "after",
      examples("sessionctl keys retire xT3n…kid", "sessionctl keys retire xT3n…kid --force   # e.g. a leaked key"),
    )
    .action(async (kid: string, opts: { force?: boolean }) => {
      await ctx.withCore(async (core) => {
        let result: Awaited<ReturnType<typeof core.admin.retireKey>>;
        try {
          result = await core.admin.retireKey(kid, Boolean(opts.force));
        } catch (error) {
          if (error instanceof Refusal) throw new CliError(error.message);
          throw error;
        }
        if (!result) throw notFoundError(`no signing key ${kid}`);
        if ("alreadyAt" in result)
          return ctx.io.out(`Key ${kid} was already retired at ${result.alreadyAt}; nothing changed.\n`);
        if (result.replacement) {
          ctx.io.out(
            `Created ${result.replacement.alg} signing key ${result.replacement.kid}, signing now (running servers switch within 10 s).\n`,
          );
        }
        ctx.io.out(
          `Retired key ${kid}${result.forced ? " (forced: access tokens it signed no longer verify)" : ""}.\n`,
        );
      });
    });
}
