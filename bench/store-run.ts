/** Every workload against a fresh server on one store. */
import { measureWorkload } from "./measure";
import type { StoreRun, WorkloadFigure } from "./results";
import { memoryOf, startBenchServer } from "./server-run";
import type { StoreTarget } from "./stores";
import { type Ceilings, WORKLOADS, WorkloadContext, type WorkloadName } from "./workloads";

/** validate, me and refresh first: the memory after them is compared with the 1M-session store. */
const READS: WorkloadName[] = ["validate", "me", "refresh"];

export async function runStore(target: StoreTarget, ceilings: Ceilings): Promise<StoreRun> {
  console.log(`  ${target.label} (compare-and-swap ceiling ${ceilings.cas.toFixed(0)}/s)`);
  const server = await startBenchServer(target);
  try {
    const memoryIdle = memoryOf(server);
    const ctx = new WorkloadContext(target);
    const figures: WorkloadFigure[] = [];
    let memoryAfterReads = memoryIdle;
    for (const workload of WORKLOADS) {
      figures.push(await measureWorkload(server.url, ctx, workload, ceilings));
      if (workload.name === READS.at(-1)) memoryAfterReads = memoryOf(server);
    }
    return {
      store: target.key,
      label: target.label,
      cas: ceilings.cas,
      workloads: figures,
      memoryIdle,
      memoryAfterReads,
    };
  } finally {
    await server.stop();
  }
}

/** Only the workloads the scale check compares. */
export async function runReads(target: StoreTarget, ceilings: Ceilings) {
  const server = await startBenchServer(target);
  try {
    const memoryIdle = memoryOf(server);
    const ctx = new WorkloadContext(target);
    const figures: WorkloadFigure[] = [];
    for (const workload of WORKLOADS.filter((w) => READS.includes(w.name))) {
      figures.push(await measureWorkload(server.url, ctx, workload, ceilings));
    }
    return { workloads: figures, memoryIdle, memoryAfterReads: memoryOf(server) };
  } finally {
    await server.stop();
  }
}
