/** The targets of issues 7 and 18, checked against one run's results. */
import type { PeerWorkload } from "./peer-sides";
import type { Results, WorkloadFigure } from "./results";

export interface Check {
  what: string;
  value: string;
  target: string;
  pass: boolean;
}

const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
/** Resident memory may differ by this much between the empty and the 1M store and still count as flat. */
const MEMORY_TOLERANCE = 1.25;
/** validate and me: their share of the HTTP floor (a bare Bun.serve answering the same JSON). */
export const FLOOR_SHARE = 0.4;

export function checkTargets(results: Results): Check[] {
  const checks: Check[] = [];
  for (const run of results.stores) {
    const full = run.store === "sqlite-full";
    for (const f of run.workloads) {
      const what = `${run.label} ${f.workload}`;
      if (!f.counts)
        checks.push({
          what: `${what}: no errors`,
          value: `${f.errors} errors, ${f.exhausted} past pool`,
          target: "0",
          pass: false,
        });
      checks.push({ what: `${what}: p99`, value: `${f.p99Ms.toFixed(1)} ms`, target: "< 25 ms", pass: f.p99Ms < 25 });
      // The ratio targets are set for SQLite with synchronous=FULL, the default store.
      if (full && (f.workload === "validate" || f.workload === "me")) {
        checks.push({
          what: `${what}: of HTTP floor`,
          value: pct(f.ofFloor),
          target: `≥ ${pct(FLOOR_SHARE)}`,
          pass: f.counts && f.ofFloor >= FLOOR_SHARE,
        });
      }
      if (full && (f.workload === "refresh" || f.workload === "create")) {
        checks.push({
          what: `${what}: of ceiling`,
          value: pct(f.ofCeiling),
          target: "≥ 70 %",
          pass: f.counts && f.ofCeiling >= 0.7,
        });
      }
    }
  }
  // Issue 17: a DPoP-bound refresh (proof checked, its jti spent in the rotation's transaction)
  // costs at most a quarter of an unbound refresh's throughput, measured in the same server run.
  for (const run of results.stores) {
    const unbound = run.workloads.find((f) => f.workload === "refresh");
    const bound = run.workloads.find((f) => f.workload === "refresh-bound");
    if (!unbound || !bound) continue;
    const ratio = bound.rps / unbound.rps;
    checks.push({
      what: `${run.label} refresh-bound: of unbound refresh`,
      value: pct(ratio),
      target: "≥ 75 %",
      pass: bound.counts && unbound.counts && ratio >= 0.75,
    });
  }
  const empty = results.stores.find((r) => r.store === "sqlite-full");
  if (results.scale && empty) {
    const n = results.scale.sessions.toLocaleString("en");
    for (const f of results.scale.workloads) {
      const base = empty.workloads.find((e) => e.workload === f.workload) as WorkloadFigure;
      const ratio = f.rps / base.rps;
      checks.push({
        what: `${n} sessions ${f.workload}: of empty store`,
        value: pct(ratio),
        target: "≥ 80 %",
        pass: f.counts && base.counts && ratio >= 0.8,
      });
    }
    const grew = results.scale.memoryAfterReads.rssMiB / empty.memoryAfterReads.rssMiB;
    checks.push({
      what: `${n} sessions: resident memory vs empty store`,
      value: `${results.scale.memoryAfterReads.rssMiB.toFixed(0)} vs ${empty.memoryAfterReads.rssMiB.toFixed(0)} MiB`,
      target: `≤ ${MEMORY_TOLERANCE}×`,
      pass: grew <= MEMORY_TOLERANCE,
    });
  }
  checks.push(...peerChecks(results));
  const v = results.verifier;
  if (v) {
    checks.push(
      { what: "verifier cold: of bare jose", value: pct(v.coldOfJose), target: "≥ 90 %", pass: v.coldOfJose >= 0.9 },
      {
        what: "verifier warm: of bare jose",
        value: `${v.warmOfJose.toFixed(1)}×`,
        target: "≥ 10×",
        pass: v.warmOfJose >= 10,
      },
      {
        what: "verifier: logout → refusal p99",
        value: `${v.propagation.p99Ms.toFixed(1)} ms`,
        target: "< 50 ms",
        pass: v.propagation.p99Ms < 50,
      },
    );
  }
  return checks;
}

/**
 * Issue 18's ratios against oidc-provider: refresh ≥ 2× the peer on SQLite and ≥ 1.3× on its
 * memory adapter; validate ≥ 3× its introspection and revoke ≥ 3× its revocation, both against
 * the durable (SQLite) peer, the one a deployment would run.
 */
function peerChecks(results: Results): Check[] {
  if (!results.peer) return [];
  const wanted: Array<[PeerWorkload, "ratioSqlite" | "ratioMemory", number]> = [
    ["refresh", "ratioSqlite", 2],
    ["refresh", "ratioMemory", 1.3],
    ["validate", "ratioSqlite", 3],
    ["revoke", "ratioSqlite", 3],
  ];
  return wanted.flatMap(([name, key, target]) => {
    const w = results.peer!.workloads.find((x) => x.workload === name);
    if (!w) return [];
    const ratio = w[key];
    const peer = key === "ratioSqlite" ? "oidc-provider SQLite" : "oidc-provider memory";
    return [
      {
        what: `${name}: this service / ${peer}`,
        value: ratio === null ? "a figure does not count" : `${ratio.toFixed(2)}×`,
        target: `≥ ${target}×`,
        pass: ratio !== null && ratio >= target,
      },
    ];
  });
}

/** A workload's target as a share of its own composite ceiling (for the chart), or null without one. */
export function targetOfCeiling(f: WorkloadFigure): number | null {
  if (f.workload === "refresh" || f.workload === "create") return 0.7;
  // FLOOR_SHARE of the floor; ofCeiling / ofFloor = floor / ceiling.
  if (f.workload === "validate" || f.workload === "me") return (FLOOR_SHARE * f.ofCeiling) / f.ofFloor;
  return null;
}

/**
 * Targets that the measured ceilings already rule out: a workload whose composite ceiling lies
 * below FLOOR_SHARE of the HTTP floor cannot reach that share however lean the service is.
 */
export function unreachableTargets(results: Results): string[] {
  const full = results.stores.find((r) => r.store === "sqlite-full");
  if (!full) return [];
  // Little's law for a closed loop: mean latency = connections / throughput. Below this many
  // requests/s even the mean, let alone p99, is over 25 ms.
  const p99Floor = results.settings.connections / 0.025;
  const slow = full.workloads
    .filter((f) => f.ceiling < p99Floor)
    .map(
      (f) =>
        `${f.workload}: its composite ceiling (${Math.round(f.ceiling)} req/s) is below ${Math.round(p99Floor)} req/s, the rate at which ` +
        `${results.settings.connections} connections see a mean latency of 25 ms, so p99 < 25 ms cannot be met at that concurrency.`,
    );
  return full.workloads
    .filter(
      (f) => (f.workload === "validate" || f.workload === "me") && f.ceiling < FLOOR_SHARE * results.ceilings.http.rps,
    )
    .map(
      (f) =>
        `${f.workload}: its composite ceiling (${Math.round(f.ceiling)} req/s) is ${(100 * (f.ceiling / results.ceilings.http.rps)).toFixed(0)} % of the HTTP floor, ` +
        `so the ${pct(FLOOR_SHARE)} target is out of reach unless a piece of it (e.g. JWT verification) gets cheaper or is skipped.`,
    )
    .concat(slow);
}
