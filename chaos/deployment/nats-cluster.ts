/**
 * A 3-node nats-server JetStream cluster on 127.0.0.1: each node with its client port, its route
 * port and its own store folder, every node soliciting routes to the others. A node can be
 * SIGKILLed and restarted on the same ports and store, as a crashed machine coming back would be.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { connect, StorageType } from "nats";
import { canConnect, NATS_SERVER } from "../../test/support/nats";
import { freePort } from "../../test/support/ports";
import { waitFor } from "../../test/support/wait";
import { RestartableProcess } from "./process";

export interface NatsNode {
  /** The server name JetStream reports as a stream's leader. */
  name: string;
  url: string;
  process: RestartableProcess;
}

export class NatsCluster {
  constructor(readonly nodes: NatsNode[]) {}

  /** Every node's client URL, comma-separated, as NATS_URL takes them. */
  get url(): string {
    return this.nodes.map((node) => node.url).join(",");
  }

  node(name: string): NatsNode | undefined {
    return this.nodes.find((node) => node.name === name);
  }

  /** Restarts a node and waits until it answers clients again. */
  async restart(node: NatsNode): Promise<void> {
    node.process.launch();
    await waitUntilAnswering(node.url);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.process.kill()));
  }
}

async function waitUntilAnswering(url: string): Promise<void> {
  await waitFor(`nats-server at ${url}`, () => canConnect(url), 20_000, 50);
}

/**
 * Starts three nodes and waits until JetStream has a meta leader and can place a stream on every
 * node: a meta leader alone may not yet know all its peers, and a 3-replica stream created then is
 * refused with "no suitable peers for placement".
 */
export async function startNatsCluster(root: string, size = 3): Promise<NatsCluster> {
  const ports = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), route: await freePort() });
  const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(",");
  const nodes = ports.map((p, i): NatsNode => {
    const name = `nats-${i + 1}`;
    const store = join(root, name);
    mkdirSync(store, { recursive: true });
    const cmd = [
      NATS_SERVER,
      ["-a", "127.0.0.1", "-p", String(p.client)],
      ["-n", name, "-js", "-sd", store],
      ["--cluster_name", "chaos", "--cluster", `nats://127.0.0.1:${p.route}`, "--routes", routes],
    ].flat();
    return {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      process: new RestartableProcess(name, cmd, { PATH: process.env.PATH ?? "" }, join(root, `${name}.log`)),
    };
  });
  for (const node of nodes) node.process.launch();
  const cluster = new NatsCluster(nodes);
  await Promise.all(nodes.map((node) => waitUntilAnswering(node.url)));
  await waitFor("a JetStream meta leader", () => jetStreamReady(cluster.url), 30_000, 200);
  await waitFor(`room for a stream of ${size} replicas`, () => canPlace(cluster.url, size), 30_000, 200);
  return cluster;
}

/** Whether the cluster places a stream with `replicas` replicas now (a throw-away one, deleted at once). */
async function canPlace(servers: string, replicas: number): Promise<boolean> {
  const nc = await connect({ servers: servers.split(","), reconnect: false, timeout: 1_000 });
  try {
    const jsm = await nc.jetstreamManager({ timeout: 2_000 });
    const name = "PLACEMENT_PROBE";
    await jsm.streams.add({ name, subjects: ["placement-probe"], num_replicas: replicas, storage: StorageType.Memory });
    await jsm.streams.delete(name);
    return true;
  } finally {
    await nc.close();
  }
}

async function jetStreamReady(servers: string): Promise<boolean> {
  const nc = await connect({ servers: servers.split(","), reconnect: false, timeout: 1_000 });
  try {
    const jsm = await nc.jetstreamManager({ timeout: 1_000 });
    await jsm.getAccountInfo();
    return true;
  } finally {
    await nc.close();
  }
}
