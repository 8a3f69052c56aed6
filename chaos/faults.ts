/**
 * Fault injection: a fixed schedule that gives every kind at least once, plus faults drawn from the
 * seeded PRNG at random moments, overlapping freely within a few limits that keep the deployment
 * a deployment (one instance always up, one NATS node down at a time, one PostgreSQL fault at a
 * time). Each fault is injected, held for a drawn time, then healed; its times are recorded.
 */
import type { Deployment } from "./deployment";
import { startInstance } from "./deployment/instances";
import type { NatsNode } from "./deployment/nats-cluster";
import { streamLeader } from "./deployment/streams";
import type { Random } from "./random";

export const FAULT_KINDS = [
  "instance-kill",
  "nats-node-kill",
  "nats-leader-kill",
  "postgres-stop",
  "postgres-freeze",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  kind: FaultKind;
  target: string;
  /** Date.now() when it was injected, and when it was healed (the restarted part answers again). */
  start: number;
  end: number;
  /** A step that failed (the fault then still ends, healed as far as it could be). */
  error?: string;
}

/** PostgreSQL's statement_timeout is 5 s and the client's deadline 6 s: a freeze outlasts both. */
const HOLD_MS: Record<FaultKind, [number, number]> = {
  "instance-kill": [500, 4_000],
  "nats-node-kill": [1_000, 6_000],
  "nats-leader-kill": [1_000, 6_000],
  "postgres-stop": [1_000, 5_000],
  "postgres-freeze": [7_000, 9_000],
};

/** Time from a fault's injection until everything it touched is back, at most (restart included). */
export const LONGEST_FAULT_MS = 9_000 + 10_000;

export class FaultInjector {
  readonly faults: Fault[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly instancesDown = new Set<string>();
  private natsDown: string | null = null;
  private postgresBusy = false;

  constructor(
    private readonly deployment: Deployment,
    private readonly random: Random,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Runs the plan until `until` (Date.now()): one fault of each kind at evenly spaced times first
   * (in an order drawn from the seed), then random ones every 2–7 s; resolves when all are healed.
   */
  async run(from: number, until: number): Promise<void> {
    const order = [...FAULT_KINDS].sort(() => this.random.next() - 0.5);
    const step = (until - from) / order.length;
    const planned = order.map((kind, i) => ({ kind, at: from + i * step }));
    let nextRandom = from + this.random.int(2_000, 7_000);
    while (Date.now() < until) {
      const now = Date.now();
      const due = planned.findIndex((p) => p.at <= now);
      if (due >= 0) {
        // A planned fault waits for its limits (another PostgreSQL or NATS fault still held): every kind happens.
        const [plan] = planned.splice(due, 1);
        this.inject(plan!.kind, true);
      } else if (now >= nextRandom) {
        this.inject(this.random.pick(FAULT_KINDS));
        nextRandom = now + this.random.int(2_000, 7_000);
      }
      await Bun.sleep(50);
    }
    for (const plan of planned) this.inject(plan.kind, true);
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** Injects `kind` in the background when the limits allow it (or, with `wait`, once they do). */
  private inject(kind: FaultKind, wait = false): void {
    const task = (async () => {
      let begun = this.begin(kind);
      while (!begun && wait) {
        await Bun.sleep(100);
        begun = this.begin(kind);
      }
      if (begun) await begun;
    })();
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  /** Claims the target and returns the fault's run, or null when a limit forbids it now. */
  private begin(kind: FaultKind): Promise<void> | null {
    // Drawn only once the fault may start: a blocked attempt leaves the seeded sequence as it was.
    const hold = () => this.random.int(...HOLD_MS[kind]);
    const { instances, nats, postgres } = this.deployment;
    switch (kind) {
      case "instance-kill": {
        const candidates = instances.filter((i) => !this.instancesDown.has(i.name));
        if (candidates.length <= 1) return null;
        const instance = this.random.pick(candidates);
        this.instancesDown.add(instance.name);
        return this.hold(
          kind,
          instance.name,
          hold(),
          () => instance.process.kill(),
          async () => {
            await startInstance(instance);
            this.instancesDown.delete(instance.name);
          },
        );
      }
      case "nats-node-kill":
      case "nats-leader-kill": {
        if (this.natsDown !== null) return null;
        const pick = this.random.pick(nats.nodes);
        this.natsDown = pick.name;
        let node: NatsNode = pick;
        const inject = async () => {
          if (kind === "nats-leader-kill") {
            const leader = await streamLeader(this.deployment.jsm);
            node = (leader && nats.node(leader)) || pick;
            this.natsDown = node.name;
          }
          await node.process.kill();
          return node.name;
        };
        return this.hold(
          kind,
          () => node.name,
          hold(),
          inject,
          async () => {
            await nats.restart(node);
            this.natsDown = null;
          },
        );
      }
      case "postgres-stop":
      case "postgres-freeze": {
        if (this.postgresBusy) return null;
        this.postgresBusy = true;
        const freeze = kind === "postgres-freeze";
        return this.hold(
          kind,
          "postgres",
          hold(),
          () => (freeze ? postgres.freeze() : postgres.stopFast()),
          async () => {
            if (freeze) postgres.thaw();
            else await postgres.start();
            this.postgresBusy = false;
          },
        );
      }
    }
  }

  private async hold(
    kind: FaultKind,
    target: string | (() => string),
    holdMs: number,
    inject: () => unknown,
    heal: () => Promise<void>,
  ): Promise<void> {
    const name = () => (typeof target === "string" ? target : target());
    const fault: Fault = { kind, target: name(), start: Date.now(), end: 0 };
    this.faults.push(fault);
    try {
      await inject();
      fault.target = name();
      this.log(`fault: ${kind} ${fault.target} for ${holdMs} ms`);
      await Bun.sleep(holdMs);
    } catch (error) {
      fault.error = `inject: ${String(error)}`;
    }
    try {
      await heal();
    } catch (error) {
      fault.error = `${fault.error ?? ""} heal: ${String(error)}`.trim();
    }
    fault.end = Date.now();
    this.log(`healed: ${kind} ${fault.target} after ${fault.end - fault.start} ms`);
  }
}
