/** The shape of bench/results.json; report.ts and chart.ts read only this. */
import type { LoadResult } from "./load";
import type { PeerWorkload, SideKey } from "./peer-sides";
import type { RelayFigures } from "./relay";
import type { StoreKey } from "./stores";
import type { VerifierFigures } from "./verifier";
import type { WorkloadName } from "./workloads";

export interface WorkloadFigure extends LoadResult {
  workload: WorkloadName;
  /** Composite ceiling in requests/s (see workloads.ts). */
  ceiling: number;
  /** rps / ceiling. */
  ofCeiling: number;
  /** rps / HTTP floor. */
  ofFloor: number;
  /** Errors and exhausted pools are 0: the figure counts. */
  counts: boolean;
  /** Server CPU (all threads, /proc) per answered request over the measured run, when its pid was given. */
  cpuUsPerRequest?: number;
}

export interface MemoryFigure {
  rssMiB: number;
  peakMiB: number;
}

export interface StoreRun {
  store: StoreKey;
  label: string;
  cas: number;
  workloads: WorkloadFigure[];
  /** The server right after its ready line, and after validate, me and refresh ran. */
  memoryIdle: MemoryFigure;
  memoryAfterReads: MemoryFigure;
}

export interface ScaleRun {
  sessions: number;
  seedSeconds: number;
  workloads: WorkloadFigure[];
  memoryIdle: MemoryFigure;
  memoryAfterReads: MemoryFigure;
}

/** validate and me on SQLite FULL with and without per-request log lines (quiet.ts). */
export interface QuietRun {
  logLevel: string;
  /** The same workloads at the benchmark's log level, measured in alternation with `workloads`. */
  logged: WorkloadFigure[];
  workloads: WorkloadFigure[];
}

/** One measurement of one side in the peer comparison (peer.ts). */
export interface PeerFigure extends LoadResult {
  side: SideKey;
  workload: PeerWorkload;
  round: number;
  counts: boolean;
  /** What the check read back from the side's store after the run. */
  checked: string;
}

/** This service against oidc-provider, best of the rounds for each side; ratios ours / peer. */
export interface PeerRun {
  peer: string;
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  workloads: Array<{
    workload: PeerWorkload;
    ours: PeerFigure;
    sqlite: PeerFigure;
    memory: PeerFigure;
    /** ours.rps / peer.rps; null when either figure does not count. */
    ratioSqlite: number | null;
    ratioMemory: number | null;
  }>;
  /** Every measurement in the order it ran. */
  runs: PeerFigure[];
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  bun: string;
  wrk: string;
}

export interface Results {
  startedAt: string;
  durationSeconds: number;
  machine: Machine;
  settings: {
    seconds: number;
    warmupSeconds: number;
    connections: number;
    wrkThreads: number;
    ceilingSeconds: number;
    logLevel: string;
    jwtAlg: string;
    scaleSessions: number;
  };
  ceilings: { http: LoadResult; hash: number; sign: number; verify: number; cas: Partial<Record<StoreKey, number>> };
  stores: StoreRun[];
  scale: ScaleRun | null;
  quiet: QuietRun | null;
  relay: RelayFigures | null;
  peer: PeerRun | null;
  /** The verifier library (issue 13); absent in results written before it existed. */
  verifier?: VerifierFigures | null;
  notes: string[];
}
