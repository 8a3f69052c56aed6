/**
 * What the run measured: availability (the share of requests answered without 503 or a lost
 * connection) overall, without any fault, and while each kind of fault was active; and per fault
 * the time to the first success after the outage it caused and until events flowed again.
 */
import type { SeenEvent } from "./event-watch";
import { FAULT_KINDS, type Fault, type FaultKind } from "./faults";
import { answered, type Op } from "./history";

export interface Availability {
  requests: number;
  answered: number;
  share: number;
}

export interface Recovery {
  fault: Fault;
  /** Whether another fault was active at some moment of this one. */
  overlapped: boolean;
  /** Whether a request failed (503 / lost) after the fault began and before it was healed. */
  outage: boolean;
  /** fault start → the first 2xx of a request sent after the last failed one of the fault's time (0 without an outage); null: none. */
  firstSuccessMs: number | null;
  /** fault start → the first event made after the outage (or the fault's start) arrived on the stream; null: none. */
  eventsFlowingMs: number | null;
}

export interface Figures {
  overall: Availability;
  noFault: Availability;
  anyFault: Availability;
  byKind: Record<FaultKind, Availability>;
  /** While only faults of that kind were active (its own effect, not that of an overlapping one). */
  byKindAlone: Record<FaultKind, Availability>;
  recoveries: Recovery[];
  opsByKind: Record<string, Record<string, number>>;
}

function availability(ops: Op[]): Availability {
  const ok = ops.filter(answered).length;
  return { requests: ops.length, answered: ok, share: ops.length === 0 ? 1 : ok / ops.length };
}

const activeAt = (fault: Fault, at: number) => fault.start <= at && at <= (fault.end || Infinity);

export function computeFigures(ops: Op[], faults: Fault[], events: SeenEvent[]): Figures {
  const requests = ops.filter((op) => op.kind !== "user_deleted").sort((a, b) => a.start - b.start);
  const during = (kind?: FaultKind) =>
    requests.filter((op) => faults.some((f) => (kind === undefined || f.kind === kind) && activeAt(f, op.start)));
  const byKind = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, availability(during(kind))])) as Record<
    FaultKind,
    Availability
  >;
  const alone = (kind: FaultKind) =>
    requests.filter((op) => {
      const active = faults.filter((f) => activeAt(f, op.start));
      return active.length > 0 && active.every((f) => f.kind === kind);
    });
  const byKindAlone = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, availability(alone(kind))])) as Record<
    FaultKind,
    Availability
  >;
  const anyFault = during();
  const faultSet = new Set(anyFault);

  const recoveries = faults.map((fault): Recovery => {
    const failures = requests.filter((op) => op.start >= fault.start && op.start <= fault.end && !answered(op));
    const lastFailure = failures[failures.length - 1];
    let firstSuccessMs: number | null = 0;
    if (lastFailure) {
      // After the last failure: requests already past the failing part may still succeed in between.
      const success = requests.find(
        (op) => op.start >= lastFailure.start && op.status !== null && op.status >= 200 && op.status < 300,
      );
      firstSuccessMs = success ? success.end - fault.start : null;
    }
    // An event made after the outage (or, without one, after the fault began) shows the relay working again.
    const after = lastFailure ? lastFailure.start : fault.start;
    const event = events.find((e) => e.time >= after);
    return {
      fault,
      overlapped: faults.some(
        (g) => g !== fault && g.start < (fault.end || Infinity) && fault.start < (g.end || Infinity),
      ),
      outage: lastFailure !== undefined,
      firstSuccessMs,
      eventsFlowingMs: event ? event.received - fault.start : null,
    };
  });

  const opsByKind: Record<string, Record<string, number>> = {};
  for (const op of ops) {
    const outcome = op.status === null ? `lost (${op.error ?? "?"})` : String(op.status);
    opsByKind[op.kind] ??= {};
    opsByKind[op.kind]![outcome] = (opsByKind[op.kind]![outcome] ?? 0) + 1;
  }
  return {
    overall: availability(requests),
    noFault: availability(requests.filter((op) => !faultSet.has(op))),
    anyFault: availability(anyFault),
    byKind,
    byKindAlone,
    recoveries,
    opsByKind,
  };
}
