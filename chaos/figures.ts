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
  /** Whether a request failed (503 / lost) after the fault began and before it was healed. */
  outage: boolean;
  /** fault start → the first 2xx of a request sent after the first failure (0 without an outage); null: none. */
  firstSuccessMs: number | null;
  /** fault start → the first event made after the fault began arrived on the stream; null: none. */
  eventsFlowingMs: number | null;
}

export interface Figures {
  overall: Availability;
  noFault: Availability;
  anyFault: Availability;
  byKind: Record<FaultKind, Availability>;
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
  const anyFault = during();
  const faultSet = new Set(anyFault);

  const recoveries = faults.map((fault): Recovery => {
    const firstFailure = requests.find((op) => op.start >= fault.start && op.start <= fault.end && !answered(op));
    let firstSuccessMs: number | null = 0;
    if (firstFailure) {
      const success = requests.find(
        (op) => op.start >= firstFailure.start && op.status !== null && op.status >= 200 && op.status < 300,
      );
      firstSuccessMs = success ? success.end - fault.start : null;
    }
    const event = events.find((e) => e.time >= fault.start);
    return {
      fault,
      outage: firstFailure !== undefined,
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
    recoveries,
    opsByKind,
  };
}
