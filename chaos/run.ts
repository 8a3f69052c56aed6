/**
 * One chaos run: start the deployment, run the workload and the faults side by side for the given
 * time, heal everything, read the final state, check the history, compute the figures, and stop
 * every process — also when something in between throws.
 */
import { type CheckInput, checkHistory, type Violation } from "./check";
import { startDeployment } from "./deployment";
import { EventWatch } from "./event-watch";
import { type Fault, FaultInjector } from "./faults";
import { computeFigures, type Figures } from "./figures";
import { collectFinalState } from "./final-state";
import { History, type Op } from "./history";
import { Random } from "./random";
import { runWorkload } from "./workload";

export interface ChaosOptions {
  seconds: number;
  seed: number;
  /** Concurrent client loops (default 6). */
  loops?: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  seed: number;
  seconds: number;
  /** Wall time of the whole run, start-up and checks included, ms. */
  wallMs: number;
  faults: Fault[];
  figures: Figures;
  /** Every operation (holds tokens: never printed as is). */
  ops: Op[];
  violations: Violation[];
  counts: {
    ops: number;
    sessionsCreated: number;
    sessionsStored: number;
    outboxRows: number;
    streamMessages: number;
    userDeletedPublished: number;
    tokensValidated: number;
  };
  drainMs: number;
  outboxEmptyMs: number | null;
  usersConsumedMs: number | null;
}

/** The instances' REFRESH_REUSE_GRACE (their default). */
const GRACE_MS = 10_000;
/** No fault before this, so the deployment is seen working first. */
const WARM_UP_MS = 3_000;
/** No fault starts in the last stretch, so the longest one is healed before the workload ends. */
const COOL_DOWN_MS = 12_000;

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {});
  const began = Date.now();
  const random = new Random(options.seed);
  const deployment = await startDeployment(log);
  try {
    const watch = new EventWatch(deployment.nc);
    const history = new History();
    const faults = new FaultInjector(deployment, random.fork(2_000), log);

    const start = Date.now();
    const end = start + options.seconds * 1_000;
    let faultsDone = false;
    const faultRun = faults
      .run(start + WARM_UP_MS, Math.max(start + WARM_UP_MS + 1_000, end - COOL_DOWN_MS))
      .finally(() => {
        faultsDone = true;
      });
    const workload = runWorkload({
      balancer: deployment.balancer,
      history,
      random: random.fork(1_000),
      serviceKey: deployment.serviceKey,
      loops: options.loops ?? 6,
      stopped: () => faultsDone && Date.now() >= end,
      publishUserDeleted: async (payload, msgID) => {
        try {
          await deployment.js.publish("user.deleted", JSON.stringify(payload), { msgID, timeout: 2_000 });
          return true;
        } catch {
          return false;
        }
      },
    });
    await Promise.all([faultRun, workload]);
    log(`workload done: ${history.ops.length} operations; recovering and reading the final state`);

    const final = await collectFinalState(deployment, history);
    watch.stop();
    const input: CheckInput = { ops: history.ops, final, graceMs: GRACE_MS };
    const violations = checkHistory(input);
    for (const fault of faults.faults) {
      if (fault.error)
        violations.push({
          check: "fault could not be injected or healed",
          detail: `${fault.kind} ${fault.target}: ${fault.error}`,
        });
    }
    const creates = history.ops.filter((op) => op.kind === "create" && op.status === 201).length;
    return {
      seed: options.seed,
      seconds: options.seconds,
      wallMs: Date.now() - began,
      faults: faults.faults,
      ops: history.ops,
      figures: computeFigures(history.ops, faults.faults, watch.seen),
      violations,
      counts: {
        ops: history.ops.length,
        sessionsCreated: creates,
        sessionsStored: final.sessions.size,
        outboxRows: final.outbox.length,
        streamMessages: final.stream.length,
        userDeletedPublished: history.ops.filter((op) => op.kind === "user_deleted" && op.status === 200).length,
        tokensValidated: final.validations.size,
      },
      drainMs: final.drainMs,
      outboxEmptyMs: final.outboxEmptyMs,
      usersConsumedMs: final.usersConsumedMs,
    };
  } finally {
    await deployment.stop();
  }
}
