/**
 * The whole deployment of a run, on 127.0.0.1 only, in one temporary folder: a PostgreSQL of its
 * own, a 3-node NATS cluster with R3 streams, 3 service instances behind a round-robin balancer,
 * and this program's own NATS connection (to publish `user.deleted`, watch events flow and read
 * the streams). `stop` undoes it in any state; bench/processes.ts is the safety net on signals.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection } from "nats";
import { removeAtExit, undoOnInterrupt } from "../../bench/processes";
import { type PrivatePostgres, startPrivatePostgres } from "../../test/support/private-postgres";
import { Balancer } from "./balancer";
import { createInstances, type Instance, instanceEnv, startInstance } from "./instances";
import { type NatsCluster, startNatsCluster } from "./nats-cluster";
import { createStreams } from "./streams";

export interface Deployment {
  root: string;
  postgres: PrivatePostgres;
  nats: NatsCluster;
  instances: Instance[];
  balancer: Balancer;
  /** The service key the workload calls POST /session and /session/validate with. */
  serviceKey: string;
  /** This program's NATS connection (reconnects to any node). */
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** A direct connection to the database, for the final state. */
  sql(): SQL;
  stop(): Promise<void>;
}

export async function startDeployment(log: (line: string) => void): Promise<Deployment> {
  const root = removeAtExit(mkdtempSync(join(tmpdir(), "session-chaos-")));
  const undo: Array<() => unknown> = [];
  const stop = async () => {
    for (const step of undo.reverse()) await Promise.resolve(step()).catch(() => {});
    undo.length = 0;
  };
  try {
    const postgres = await startPrivatePostgres();
    // The postmaster is no child of this process (pg_ctl detaches it): clean it up explicitly, also on exit.
    const pgCleanup = () => postgres.cleanup();
    process.on("exit", pgCleanup);
    const dropUndo = undoOnInterrupt(async () => pgCleanup());
    undo.push(() => {
      dropUndo();
      pgCleanup();
    });
    log(`postgres on 127.0.0.1:${postgres.port}`);

    const nats = await startNatsCluster(root);
    undo.push(() => nats.stopAll());
    log(`nats cluster: ${nats.url}`);

    const nc = await connect({
      servers: nats.url.split(","),
      name: "chaos",
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    undo.push(() => nc.close());
    const jsm = await nc.jetstreamManager({ timeout: 2_000 });
    const js = nc.jetstream({ timeout: 2_000 });
    await createStreams(jsm);
    const replicas = await Promise.all(
      ["SESSIONS", "USERS"].map(async (name) => {
        const info = await jsm.streams.info(name);
        return `${name} R${info.config.num_replicas} (leader ${info.cluster?.leader ?? "none"}, ${1 + (info.cluster?.replicas?.length ?? 0)} peers)`;
      }),
    );
    log(`streams: ${replicas.join(", ")}`);

    const serviceKey = randomBytes(24).toString("base64url");
    const env = instanceEnv({
      databaseUrl: postgres.url,
      natsUrl: nats.url,
      secretKey: randomBytes(32).toString("hex"),
      serviceKeys: `chaos:${serviceKey}`,
    });
    const instances = await createInstances(root, env);
    undo.push(() => Promise.all(instances.map((instance) => instance.process.kill())));
    // Together: they race for the migration lock, as a fleet starting at once does.
    await Promise.all(instances.map((instance) => startInstance(instance)));
    log(`instances: ${instances.map((instance) => instance.url).join(" ")}`);

    let sql: SQL | null = null;
    undo.push(() => sql?.close());
    return {
      root,
      postgres,
      nats,
      instances,
      balancer: new Balancer(instances),
      serviceKey,
      nc,
      js,
      jsm,
      sql: () => {
        sql ??= new SQL({ url: postgres.url, max: 4 });
        return sql;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
