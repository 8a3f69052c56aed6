/**
 * `keys list | rotate | retire`: the signing key ring in the store. Running servers reload it
 * every 5 s, so a new key is in their JWKS within 10 s. It signs only after the JWKS cache time
 * (verifiers must have had the chance to fetch it) unless --now; a key that stopped signing stays
 * published until the last token it signed has expired, which is why retire refuses such keys.
 */
import type { Command } from "commander";
import { iso } from "../../server/core/events";
import type { SigningKeyRow } from "../../server/core/ports";
import { generateSigningKey, keyState } from "../../server/core/signing-keys";
import type { Core } from "../../server/open-core";
import type { CliContext } from "../context";
import { CliError, notFoundError } from "../exit-codes";
import { examples } from "../options";
import { renderJson, renderTable } from "../render";
import { requireServersSecretKey } from "../secret-check";

type KeyStatus = "signing" | "pending" | "published" | "retired";

interface KeyObject {
  kid: string;
  alg: string;
  status: KeyStatus;
  created_at: string;
  activates_at: string;
  retired_at: string | null;
}

function stateOf(core: Core, rows: SigningKeyRow[], now: number) {
  return keyState(rows, core.config.jwtAlg, core.config.accessTokenTtlMs, now);
}

function keyObjects(core: Core, rows: SigningKeyRow[], now: number): KeyObject[] {
  const state = stateOf(core, rows, now);
  const status = (row: SigningKeyRow): KeyStatus => {
    if (row.retiredAt !== null) return "retired";
    if (row.kid === state.signer?.kid) return "signing";
    if (row.activatesAt > now) return "pending";
    // No longer published: its tokens have all expired, so it verifies nothing any more.
    return state.published.some((key) => key.kid === row.kid) ? "published" : "retired";
  };
  return rows.map((row) => ({
    kid: row.kid,
    alg: row.alg,
    status: status(row),
    created_at: iso(row.createdAt),
    activates_at: iso(row.activatesAt),
    retired_at: row.retiredAt === null ? null : iso(row.retiredAt),
  }));
}

/** A new key of the configured algorithm, published from `now` and signing from `activatesAt`. */
async function addKey(core: Core, now: number, activatesAt: number): Promise<SigningKeyRow> {
  const row = await generateSigningKey(core.config.jwtAlg, core.secrets.keyEncryptionKey, now, activatesAt);
  await core.store.insertSigningKey(row);
  return row;
}

/** Why retiring this key now would break tokens or signing; null when it is safe. */
function retireRefusal(core: Core, rows: SigningKeyRow[], row: SigningKeyRow, now: number): string | null {
  const state = stateOf(core, rows, now);
  if (row.kid === state.signer?.kid) {
    return `key ${row.kid} is the current signing key; run "sessionctl keys rotate" first and retire it once its tokens have expired, or use --force`;
  }
  if (row.activatesAt > now) {
    return `key ${row.kid} is published ahead of rotation and signs from ${iso(row.activatesAt)}; use --force to cancel it`;
  }
  if (state.published.some((key) => key.kid === row.kid)) {
    return `access tokens signed by key ${row.kid} may still be alive (it stopped signing less than ACCESS_TOKEN_TTL ago); retire it later, or use --force`;
  }
  return null;
}

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
      await ctx.withCore(async (core) => {
        const list = keyObjects(core, await core.store.listSigningKeys(), core.clock.now());
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
        `after the JWKS cache time (JWKS_MAX_AGE, default 5 minutes), once verifiers' cached JWKS include it. ` +
        `The old key keeps verifying until its tokens expire.`,
    )
    .option(
      "--now",
      "sign with the new key at once (within 10 s); verifiers holding an older cached JWKS may refuse its tokens until they refetch it",
    )
    .addHelpText("after", examples("sessionctl keys rotate", "sessionctl keys rotate --now"))
    .action(async (opts: { now?: boolean }) => {
      await ctx.withCore(async (core) => {
        await requireServersSecretKey(core);
        const now = core.clock.now();
        // The server's JWKS max-age: verifiers may hold a JWKS without the new key for that long.
        const cacheMs = core.config.jwksMaxAgeMs;
        const row = await addKey(core, now, opts.now ? now : now + cacheMs);
        const when = opts.now
          ? "now (running servers switch within 10 s)"
          : `${iso(row.activatesAt)} (after the ${cacheMs / 1000} s JWKS cache time)`;
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
        const rows = await core.store.listSigningKeys();
        const row = rows.find((candidate) => candidate.kid === kid);
        if (!row) throw notFoundError(`no signing key ${kid}`);
        if (row.retiredAt !== null)
          return ctx.io.out(`Key ${kid} was already retired at ${iso(row.retiredAt)}; nothing changed.\n`);
        const now = core.clock.now();
        const refusal = retireRefusal(core, rows, row, now);
        if (refusal && !opts.force) throw new CliError(refusal);
        if (row.kid === stateOf(core, rows, now).signer?.kid) {
          // Never leave the servers without a signer, nor fall back to an older key: a fresh one first.
          await requireServersSecretKey(core);
          const fresh = await addKey(core, now, now);
          ctx.io.out(
            `Created ${fresh.alg} signing key ${fresh.kid}, signing now (running servers switch within 10 s).\n`,
          );
        }
        await core.store.retireSigningKey(kid, core.clock.now());
        ctx.io.out(`Retired key ${kid}${refusal ? " (forced: access tokens it signed no longer verify)" : ""}.\n`);
      });
    });
}
