/** The run's report for people: faults, operations, availability, recovery times, events, violations. */
import { FAULT_KINDS } from "./faults";
import type { Availability } from "./figures";
import type { ChaosResult } from "./run";

const percent = (a: Availability) =>
  a.requests === 0 ? "no requests" : `${(a.share * 100).toFixed(2)} % of ${a.requests.toLocaleString("en-US")}`;

function spread(values: Array<number | null>): string {
  const known = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  const missing = values.length - known.length;
  if (known.length === 0) return missing ? `none (${missing} never)` : "-";
  const median = known[Math.floor((known.length - 1) / 2)]!;
  const ms = (v: number) => `${(v / 1000).toFixed(2)} s`;
  return `median ${ms(median)}, max ${ms(known[known.length - 1]!)}${missing ? `, ${missing} never` : ""}`;
}

export function formatReport(result: ChaosResult): string {
  const { figures, counts } = result;
  const lines: string[] = [];
  lines.push(
    `chaos run: seed ${result.seed}, ${result.seconds} s of workload, ${(result.wallMs / 1000).toFixed(0)} s in all`,
  );
  lines.push(
    "deployment: 3 instances on one PostgreSQL, 3-node NATS JetStream cluster, SESSIONS and USERS with 3 replicas",
  );
  lines.push("");
  lines.push("faults injected:");
  for (const kind of FAULT_KINDS) {
    const of = result.faults.filter((f) => f.kind === kind);
    const held = of.map((f) => f.end - f.start);
    lines.push(`  ${kind.padEnd(17)} ${String(of.length).padStart(3)}  (injected → healed: ${spread(held)})`);
  }
  const overlapping = result.faults.filter((f) =>
    result.faults.some((g) => g !== f && g.start < f.end && f.start < g.end),
  );
  lines.push(`  ${overlapping.length} of ${result.faults.length} overlapped another fault`);
  lines.push("");
  lines.push(`operations: ${counts.ops.toLocaleString("en-US")}`);
  for (const [kind, outcomes] of Object.entries(figures.opsByKind)) {
    const parts = Object.entries(outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([outcome, n]) => `${outcome} ${n.toLocaleString("en-US")}`);
    lines.push(`  ${kind.padEnd(13)} ${parts.join(", ")}`);
  }
  lines.push("");
  lines.push("availability (answered without 503 or a lost connection):");
  lines.push(`  overall           ${percent(figures.overall)}`);
  lines.push(`  no fault active   ${percent(figures.noFault)}`);
  lines.push(`  any fault active  ${percent(figures.anyFault)}`);
  for (const kind of FAULT_KINDS) {
    lines.push(
      `  ${kind.padEnd(17)} ${percent(figures.byKind[kind])}; with no other kind active ${percent(figures.byKindAlone[kind])}`,
    );
  }
  lines.push("");
  lines.push("recovery, from the fault's injection (all faults | those that overlapped no other):");
  for (const kind of FAULT_KINDS) {
    const of = figures.recoveries.filter((r) => r.fault.kind === kind);
    const single = of.filter((r) => !r.overlapped);
    const outages = (list: typeof of) =>
      `${list.filter((r) => r.outage).length} of ${list.length} with a client-visible outage`;
    lines.push(`  ${kind}`);
    lines.push(
      `    first success after the outage: ${spread(of.map((r) => r.firstSuccessMs))}, ${outages(of)} | ${spread(single.map((r) => r.firstSuccessMs))}, ${outages(single)}`,
    );
    lines.push(
      `    events flowing again:           ${spread(of.map((r) => r.eventsFlowingMs))} | ${spread(single.map((r) => r.eventsFlowingMs))}`,
    );
  }
  lines.push("");
  lines.push(
    `events: ${counts.outboxRows.toLocaleString("en-US")} outbox rows, ${counts.streamMessages.toLocaleString("en-US")} messages in SESSIONS; ${counts.sessionsCreated.toLocaleString("en-US")} sessions created (${counts.sessionsStored.toLocaleString("en-US")} stored); ${counts.userDeletedPublished} user.deleted published; ${counts.tokensValidated.toLocaleString("en-US")} refresh tokens validated on every instance at the end`,
  );
  const secondsOrNever = (ms: number | null) => (ms === null ? "never" : `${(ms / 1000).toFixed(1)} s`);
  lines.push(
    `after the workload (everything healed): outbox empty after ${secondsOrNever(result.outboxEmptyMs)}, USERS consumed after ${secondsOrNever(result.usersConsumedMs)} (a user.deleted that met an unavailable store waits out its nak delay, doubling per delivery), both at once after ${(result.drainMs / 1000).toFixed(1)} s`,
  );
  lines.push("");
  lines.push(`violations: ${result.violations.length}`);
  for (const violation of result.violations) lines.push(`  ${violation.check}: ${violation.detail}`);
  return lines.join("\n");
}
