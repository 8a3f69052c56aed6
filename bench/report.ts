/** bench/results.md: machine, settings, ceilings, every workload's figures, scale, relay, peer, targets. */
import type { PeerWorkload } from "./peer-sides";
import type { PeerFigure, PeerRun, Results, WorkloadFigure } from "./results";
import type { Check } from "./targets";

const n0 = (x: number) => Math.round(x).toLocaleString("en");
const ms = (x: number) => x.toFixed(1);
const pct = (x: number) => `${(100 * x).toFixed(0)} %`;

function workloadRow(f: WorkloadFigure): string {
  const flag = f.counts ? "" : " ✗";
  const errors = f.exhausted > 0 ? `${f.errors} (+${f.exhausted} past pool)` : String(f.errors);
  return `| ${f.workload}${flag} | ${n0(f.rps)} | ${ms(f.p50Ms)} | ${ms(f.p99Ms)} | ${errors} | ${n0(f.ceiling)} | ${pct(f.ofCeiling)} | ${pct(f.ofFloor)} |`;
}

const WORKLOAD_HEADER = [
  "| workload | req/s | p50 ms | p99 ms | errors | ceiling req/s | of ceiling | of HTTP floor |",
  "|---|---:|---:|---:|---:|---:|---:|---:|",
];

/** Every store side by side on the same workloads (issue 8): req/s and p99 of the same run. */
function storeComparison(r: Results): string[] {
  if (r.stores.length < 2) return [];
  const names = r.stores[0].workloads.map((f) => f.workload);
  const cell = (f: WorkloadFigure | undefined) => (f ? `${n0(f.rps)} / ${ms(f.p99Ms)}${f.counts ? "" : " ✗"}` : "–");
  return [
    "## Stores compared (req/s / p99 ms)",
    "",
    `| workload | ${r.stores.map((run) => run.label).join(" | ")} |`,
    `|---|${r.stores.map(() => "---:").join("|")}|`,
    ...names.map(
      (name) =>
        `| ${name} | ${r.stores.map((run) => cell(run.workloads.find((f) => f.workload === name))).join(" | ")} |`,
    ),
    "",
  ];
}

const PEER_ROWS: Record<PeerWorkload, string> = {
  refresh: "refresh: `POST /session/refresh` vs token endpoint, `refresh_token` grant (rotation, EdDSA JWT)",
  validate: "validate: `POST /session/validate` vs introspection (RFC 7662) of a refresh token",
  revoke: "revoke: `POST /session/revoke` vs revocation (RFC 7009) of a refresh token",
};

/** Issue 18: this service against oidc-provider, one run, ratios ours / peer. */
function peerSection(p: PeerRun): string[] {
  const cell = (f: PeerFigure) => `${n0(f.rps)} / ${ms(f.p99Ms)}${f.counts ? "" : " ✗"}`;
  const ratio = (x: number | null) => (x === null ? "✗" : `${x.toFixed(2)}×`);
  return [
    `## This service against ${p.peer} (issue 18; req/s / p99 ms)`,
    "",
    `Same machine, same wrk and connections, ${p.rounds} interleaved round(s) of ${p.warmupSeconds} s warm-up + ${p.seconds} s ` +
      "(peer on SQLite, this service, peer in memory; the peers swap places each round); each figure is the best of its rounds. " +
      "The peer runs on Bun in its own process with the settings of bench/PEER.md; every run was checked against the stores afterwards.",
    "",
    "| workload | this service (SQLite FULL) | oidc-provider, SQLite FULL + group commit | oidc-provider, memory | ours / SQLite | ours / memory |",
    "|---|---:|---:|---:|---:|---:|",
    ...p.workloads.map(
      (w) =>
        `| ${PEER_ROWS[w.workload]} | ${cell(w.ours)} | ${cell(w.sqlite)} | ${cell(w.memory)} | ${ratio(w.ratioSqlite)} | ${ratio(w.ratioMemory)} |`,
    ),
    "",
    "What the checks read back after each measured run (best rounds):",
    "",
    ...p.workloads.flatMap((w) => [
      `- ${w.workload}, this service: ${w.ours.checked}`,
      `- ${w.workload}, oidc-provider SQLite: ${w.sqlite.checked}`,
      `- ${w.workload}, oidc-provider memory: ${w.memory.checked}`,
    ]),
    "",
  ];
}

export function renderMarkdown(r: Results, checks: Check[]): string {
  const m = r.machine;
  const s = r.settings;
  const out: string[] = [
    "# Benchmark results (`bun run bench`)",
    "",
    `Run ${r.startedAt}, ${r.durationSeconds.toFixed(0)} s. Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB memory, Linux ${m.kernel}, Bun ${m.bun}, ${m.wrk}.`,
    "",
    `Settings: ${s.connections} connections, ${s.wrkThreads} wrk thread(s), ${s.warmupSeconds} s warm-up + ${s.seconds} s per workload, ` +
      `${s.ceilingSeconds} s per in-process ceiling, one server process, LOG_LEVEL=${s.logLevel}, JWT_ALG=${s.jwtAlg}, ` +
      "traffic only to 127.0.0.1. ✗ marks a figure that does not count (errors, or more requests than distinct tokens).",
    "",
    "## Ceilings",
    "",
    "| piece | rate |",
    "|---|---:|",
    `| HTTP floor (trivial Elysia POST route, wrk) | ${n0(r.ceilings.http.rps)} req/s (p50 ${ms(r.ceilings.http.p50Ms)} ms, p99 ${ms(r.ceilings.http.p99Ms)} ms) |`,
    `| refresh-token hash (HMAC-SHA256) | ${n0(r.ceilings.hash)} /s |`,
    `| JWT sign (${s.jwtAlg}) | ${n0(r.ceilings.sign)} /s |`,
    `| JWT verify (${s.jwtAlg}) | ${n0(r.ceilings.verify)} /s |`,
    ...Object.entries(r.ceilings.cas).map(
      ([store, rate]) => `| store compare-and-swap (rotate), ${store} | ${n0(rate!)} /s |`,
    ),
    "",
    "Composite ceiling of a workload = 1 / Σ (pieces it needs / their rates): validate = http + 2 hash; " +
      "me = http + verify; create = http + 2 hash + sign + CAS; refresh = http + 3 hash + sign + CAS; " +
      "logout = http + hash + CAS; mix = (6 validate + 3 refresh + create + logout) / 11.",
    "",
  ];
  for (const run of r.stores) {
    out.push(`## ${run.label}`, "", ...WORKLOAD_HEADER, ...run.workloads.map(workloadRow), "");
    out.push(
      `Server memory (VmRSS): ${run.memoryIdle.rssMiB.toFixed(0)} MiB after start, ${run.memoryAfterReads.rssMiB.toFixed(0)} MiB after validate, me and refresh.`,
      "",
    );
  }
  out.push(...storeComparison(r));
  const empty = r.stores.find((run) => run.store === "sqlite-full");
  if (r.scale && empty) {
    const sc = r.scale;
    out.push(
      `## Scale: ${n0(sc.sessions)} sessions preloaded (SQLite FULL, seeded in ${sc.seedSeconds.toFixed(1)} s)`,
      "",
      "| workload | empty store req/s | preloaded req/s | ratio | p99 ms preloaded |",
      "|---|---:|---:|---:|---:|",
      ...sc.workloads.map((f) => {
        const base = empty.workloads.find((e) => e.workload === f.workload)!;
        return `| ${f.workload}${f.counts ? "" : " ✗"} | ${n0(base.rps)} | ${n0(f.rps)} | ${pct(f.rps / base.rps)} | ${ms(f.p99Ms)} |`;
      }),
      "",
      "| server memory | empty store | preloaded |",
      "|---|---:|---:|",
      `| VmRSS after start | ${empty.memoryIdle.rssMiB.toFixed(0)} MiB | ${sc.memoryIdle.rssMiB.toFixed(0)} MiB |`,
      `| VmRSS after validate, me, refresh | ${empty.memoryAfterReads.rssMiB.toFixed(0)} MiB | ${sc.memoryAfterReads.rssMiB.toFixed(0)} MiB |`,
      `| VmHWM (peak) | ${empty.memoryAfterReads.peakMiB.toFixed(0)} MiB | ${sc.memoryAfterReads.peakMiB.toFixed(0)} MiB |`,
      "",
    );
  }
  if (r.quiet) {
    const level = r.settings.logLevel;
    out.push(
      `## One log line per request: LOG_LEVEL=${level} against ${r.quiet.logLevel} (SQLite FULL, two servers measured in turn)`,
      "",
      `| workload | ${level}: req/s | ${level}: of HTTP floor | ${r.quiet.logLevel}: req/s | ${r.quiet.logLevel}: of HTTP floor | cost of the line |`,
      "|---|---:|---:|---:|---:|---:|",
      ...r.quiet.workloads.map((f, i) => {
        const logged = r.quiet!.logged[i]!;
        const mark = f.counts && logged.counts ? "" : " ✗";
        return `| ${f.workload}${mark} | ${n0(logged.rps)} | ${pct(logged.ofFloor)} | ${n0(f.rps)} | ${pct(f.ofFloor)} | ${pct(1 - logged.rps / f.rps)} |`;
      }),
      "",
    );
  }
  if (r.relay) {
    out.push(
      "## Outbox relay (issue 3)",
      "",
      `Raw JetStream publish ${n0(r.relay.rawPerSecond)} events/s; relay ${n0(r.relay.relayPerSecond)} events/s ` +
        `(${pct(r.relay.relayPerSecond / r.relay.rawPerSecond)} of raw); logout 204 → event p50 ${ms(r.relay.latencyP50Ms)} ms, p99 ${ms(r.relay.latencyP99Ms)} ms.`,
      "",
    );
  }
  if (r.verifier) {
    const v = r.verifier;
    out.push(
      "## Verifier library (issue 13)",
      "",
      "In-process verifications of the real server's EdDSA access tokens, 32 in flight, best of 5 alternating rounds; " +
        "bare jose = `jwtVerify` + `createLocalJWKSet` with the same checks. The verifier is live on NATS meanwhile.",
      "",
      "| | verifier /s | bare jose /s | verifier ÷ jose | CPU µs each: verifier / jose |",
      "|---|---:|---:|---:|---:|",
      `| cold (a new token each time, ${n0(v.tokens)} per round) | ${n0(v.coldPerSecond)} | ${n0(v.joseColdPerSecond)} | ${pct(v.coldOfJose)} | ${v.cpuMicros.cold.toFixed(0)} / ${v.cpuMicros.joseCold.toFixed(0)} |`,
      `| warm (the same 1,000 tokens again) | ${n0(v.warmPerSecond)} | ${n0(v.joseWarmPerSecond)} | ${v.warmOfJose.toFixed(1)}× | ${v.cpuMicros.warm.toFixed(2)} / ${v.cpuMicros.joseWarm.toFixed(0)} |`,
      "",
      `Revocation propagation, from the 204 of a logout to the first refusal at each of ${v.propagation.verifiers} verifiers ` +
        `(${n0(v.propagation.logouts)} logouts, one at a time): p50 ${ms(v.propagation.p50Ms)} ms, p99 ${ms(v.propagation.p99Ms)} ms, max ${ms(v.propagation.maxMs)} ms.`,
      "",
      `A verifier process tracking ${n0(v.memory.revoked)} revoked sessions: VmRSS ${v.memory.rssMiB.toFixed(0)} MiB, ` +
        `against ${v.memory.baselineRssMiB.toFixed(0)} MiB tracking none (${n0(v.memory.bytesPerSession)} bytes per session); ` +
        `it read them from the stream in ${v.memory.startSeconds.toFixed(1)} s at start.`,
      "",
    );
  }
  if (r.peer) out.push(...peerSection(r.peer));
  out.push("## Targets (issues 7, 13 and 18)", "", "| check | value | target | |", "|---|---:|---:|---|");
  for (const c of checks) out.push(`| ${c.what} | ${c.value} | ${c.target} | ${c.pass ? "met" : "**missed**"} |`);
  out.push("");
  if (r.notes.length > 0) out.push("## Notes", "", ...r.notes.map((note) => `- ${note}`), "");
  out.push("![Each workload as a share of its ceiling](results.png)", "");
  return out.join("\n");
}
