/**
 * The operator's use cases (sessionctl): listings, purge, statistics, signing keys and service
 * clients, with their refusal rules. The CLI renders what these return and never touches a store.
 * Read-only views need only the store; what writes key material needs the secrets, which a
 * read-only sessionctl command never loads.
 */
import { randomBytes } from "node:crypto";
import { iso } from "./events";
import { signingKeyIntact } from "./integrity";
import type {
  Clock,
  PurgeResult,
  ServiceClientRow,
  SessionFilter,
  SessionRow,
  SessionStore,
  SigningKeyRow,
  StoreStats,
} from "./ports";
import type { DerivedSecrets } from "./secrets";
import { GENERATED_CLIENT, type ServiceKeys } from "./service-keys";
import { purgeCutoffs } from "./session-rules";
import { isSessionId } from "./sessions";
import { generateSigningKey, keyState, retiredKey, type SigningAlg } from "./signing-keys";

export type KeyStatus = "signing" | "pending" | "published" | "retired" | "untrusted";

export interface KeyView {
  kid: string;
  alg: string;
  status: KeyStatus;
  created_at: string;
  activates_at: string;
  retired_at: string | null;
}

export interface KeySettings {
  jwtAlg: SigningAlg;
  accessTokenTtlMs: number;
  jwksMaxAgeMs: number;
  /** How often instances re-read the keys (KEY_RELOAD_INTERVAL): they publish a new key at most this late. */
  keyReloadMs: number;
}

export interface AdminDeps {
  store: SessionStore;
  clock: Clock;
  keys: KeySettings;
  /** Absent for read-only commands: then nothing that needs SECRET_KEY can run. */
  secrets?: DerivedSecrets;
  serviceKeys?: ServiceKeys;
}

/** Refused by a rule (exit 1), as opposed to not found (exit 3). */
export class Refusal extends Error {}

export class AdminService {
  constructor(private readonly deps: AdminDeps) {}

  private get now() {
    return this.deps.clock.now();
  }

  private secrets(): DerivedSecrets {
    if (!this.deps.secrets) throw new Error("this command needs the servers' SECRET_KEY");
    return this.deps.secrets;
  }

  listSessions(filter: SessionFilter): Promise<SessionRow[]> {
    return this.deps.store.admin.listSessions(filter, this.now);
  }

  /** null for an unknown id and for anything that is not a session id. */
  async findSession(sessionId: string): Promise<SessionRow | null> {
    return isSessionId(sessionId) ? this.deps.store.sessions.findSession(sessionId) : null;
  }

  stats(): Promise<StoreStats> {
    return this.deps.store.admin.stats(this.now);
  }

  countPurgeable(olderThanMs: number): Promise<PurgeResult> {
    return this.deps.store.admin.countPurgeable(purgeCutoffs(olderThanMs, this.now));
  }

  /**
   * Deletes what ended more than `olderThanMs` ago, `batch` rows of each kind per transaction,
   * pausing between batches so the servers' writers get the store in between.
   */
  async purge(
    olderThanMs: number,
    batch: number,
    progress: (total: PurgeResult) => void = () => {},
    pauseMs = 5,
  ): Promise<{ total: PurgeResult; batches: number }> {
    const total: PurgeResult = { sessions: 0, events: 0 };
    let batches = 0;
    for (;;) {
      const done = await this.deps.store.admin.purge(purgeCutoffs(olderThanMs, this.now), batch);
      batches++;
      total.sessions += done.sessions;
      total.events += done.events;
      // A batch that was not full on both sides means nothing more matched.
      if (done.sessions < batch && done.events < batch) break;
      progress(total);
      await Bun.sleep(pauseMs);
    }
    return { total, batches };
  }

  // ---- signing keys ----

  private state(rows: SigningKeyRow[]) {
    return keyState(rows, this.deps.keys.jwtAlg, this.deps.keys.accessTokenTtlMs, this.now);
  }

  async listKeys(): Promise<KeyView[]> {
    const rows = await this.deps.store.signingKeys.listSigningKeys();
    const integrity = this.deps.secrets?.integrityKey;
    const trusted = integrity ? rows.filter((row) => signingKeyIntact(integrity, row)) : rows;
    const state = this.state(trusted);
    const now = this.now;
    const status = (row: SigningKeyRow): KeyStatus => {
      if (!trusted.includes(row)) return "untrusted";
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

  /**
   * A new key of the configured algorithm, signing now or once every verifier can have it: the
   * instances list it within one key reload, and a verifier's cached JWKS is at most the JWKS
   * cache time old (the same lead the automatic rotation keeps). Signing after the cache time
   * alone left a window of up to one reload in which tokens named a kid a verifier could not know.
   */
  async rotateKey(signNow: boolean): Promise<SigningKeyRow> {
    const now = this.now;
    return this.addKey(now, signNow ? now : now + this.rotationLeadMs());
  }

  rotationLeadMs(): number {
    return this.deps.keys.jwksMaxAgeMs + this.deps.keys.keyReloadMs;
  }

  private async addKey(now: number, activatesAt: number): Promise<SigningKeyRow> {
    const row = await generateSigningKey(this.deps.keys.jwtAlg, this.secrets(), now, activatesAt);
    await this.deps.store.signingKeys.insertSigningKey(row);
    return row;
  }

  /** Why retiring this key now would break tokens or signing; null when it is safe. */
  private retireRefusal(rows: SigningKeyRow[], row: SigningKeyRow): string | null {
    const state = this.state(rows);
    if (row.kid === state.signer?.kid) {
      return `key ${row.kid} is the current signing key; run "sessionctl keys rotate" first and retire it once its tokens have expired, or use --force`;
    }
    if (row.activatesAt > this.now) {
      return `key ${row.kid} is published ahead of rotation and signs from ${iso(row.activatesAt)}; use --force to cancel it`;
    }
    if (state.published.some((key) => key.kid === row.kid)) {
      return `access tokens signed by key ${row.kid} may still be alive (it stopped signing less than ACCESS_TOKEN_TTL ago); retire it later, or use --force`;
    }
    return null;
  }

  /**
   * Retires a key (it neither signs nor verifies any more). Refuses the signer, a pending key and
   * a key whose tokens may live, unless forced; forcing out the signer first makes a new key that
   * signs at once, so the servers never lack one. null when there is no such key.
   */
  async retireKey(
    kid: string,
    force: boolean,
  ): Promise<{ alreadyAt: string } | { forced: boolean; replacement: SigningKeyRow | null } | null> {
    const secrets = this.secrets();
    const rows = (await this.deps.store.signingKeys.listSigningKeys()).filter((r) =>
      signingKeyIntact(secrets.integrityKey, r),
    );
    const row = rows.find((candidate) => candidate.kid === kid);
    if (!row) return null;
    if (row.retiredAt !== null) return { alreadyAt: iso(row.retiredAt) };
    const refusal = this.retireRefusal(rows, row);
    if (refusal && !force) throw new Refusal(refusal);
    const now = this.now;
    const replacement = row.kid === this.state(rows).signer?.kid ? await this.addKey(now, now) : null;
    await this.deps.store.signingKeys.retireSigningKey(retiredKey(row, this.now, secrets.integrityKey));
    return { forced: refusal !== null, replacement };
  }

  // ---- service clients ----

  listClients() {
    return this.deps.store.serviceClients.listServiceClients();
  }

  /**
   * A new client with a random 256-bit service key (returned once; only its keyed hash is stored).
   * null: the name is taken. The first real client ends the generated key (`generated`: the row
   * removed, if there was one), so the first-start key never outlives the real setup.
   */
  async addClient(
    name: string,
  ): Promise<{ serviceKey: string; createdAt: number; generated: ServiceClientRow | null } | null> {
    if (!this.deps.serviceKeys) throw new Error("this command needs the servers' SECRET_KEY");
    if (name === GENERATED_CLIENT) {
      throw new Refusal(`the name ${GENERATED_CLIENT} belongs to the service key a server generates; choose another`);
    }
    const serviceKey = randomBytes(32).toString("base64url");
    const createdAt = this.now;
    const added = await this.deps.store.serviceClients.addServiceClient({
      name,
      keyHash: this.deps.serviceKeys.hash(serviceKey),
      createdAt,
    });
    if (!added) return null;
    return { serviceKey, createdAt, generated: await this.removeClient(GENERATED_CLIENT) };
  }

  /** Removes a client and returns the row it had (its key hash), or null when there was none. */
  async removeClient(name: string): Promise<ServiceClientRow | null> {
    const clients = this.deps.store.serviceClients;
    const row = (await clients.listServiceClients()).find((client) => client.name === name);
    return row && (await clients.removeServiceClient(name)) ? row : null;
  }
}
