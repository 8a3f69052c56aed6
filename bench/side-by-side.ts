/**
 * Two (or more) servers measured in alternation, so that the machine's drift between runs (±20 %
 * here) falls on every side alike: the quiet-log comparison (two log levels) and probe.ts's
 * PROBE_BASELINE (two builds). Each side has its own store. It answers every round's figure:
 * [side][workload][round].
 */
import { measureWorkload } from "./measure";
import type { WorkloadFigure } from "./results";
import { startBenchServer } from "./server-run";
import type { StoreTarget } from "./stores";
import { type Ceilings, WorkloadContext, type WorkloadName, workload } from "./workloads";

export interface SideSpec {
  /** Settings on top of the benchmark's. */
  overrides?: Record<string, string>;
  /** Another checkout's server (its folder) instead of this one. */
  root?: string;
}

export async function sideBySide(
  specs: SideSpec[],
  names: WorkloadName[],
  ceilings: Ceilings,
  rounds: number,
  newTarget: () => Promise<StoreTarget>,
): Promise<WorkloadFigure[][][]> {
  const sides: Array<{
    target: StoreTarget;
    stop: () => Promise<unknown>;
    run: (name: WorkloadName) => Promise<WorkloadFigure>;
  }> = [];
  const figures = specs.map(() => names.map((): WorkloadFigure[] => []));
  try {
    for (const spec of specs) {
      const target = await newTarget();
      await (await target.open()).close();
      const server = await startBenchServer(target, spec.overrides, spec.root);
      const ctx = new WorkloadContext(target);
      sides.push({
        target,
        stop: () => server.stop(),
        run: (name) => measureWorkload(server.url, ctx, workload(name), ceilings, server.proc.pid),
      });
    }
    for (let round = 0; round < rounds; round++) {
      for (const [i, side] of sides.entries()) {
        for (const [n, name] of names.entries()) figures[i]![n]!.push(await side.run(name));
      }
    }
    return figures;
  } finally {
    for (const side of sides) {
      await side.stop();
      await side.target.drop();
    }
  }
}

/** The better of a workload's rounds; a round with errors or an exhausted pool never counts over one without. */
export function bestOf(rounds: WorkloadFigure[]): WorkloadFigure {
  return rounds.reduce((best, figure) =>
    (figure.counts && !best.counts) || (figure.counts === best.counts && figure.rps > best.rps) ? figure : best,
  );
}
