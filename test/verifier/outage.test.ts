/**
 * Revocations through outages, against the real server and a real nats-server: the verifier's own
 * link cut (a TCP proxy) while logouts go on, a nats-server restart, a consumer deleted under it,
 * NATS away at start. Each time it says `disconnected`, comes back through `catching_up` to
 * `live`, resumes at the stream sequence after the last one it applied (the consumer it creates
 * on the server says so), and refuses what it missed; failClosedAfterMs refuses meanwhile.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ConsumerInfo } from "nats";
import type { RevocationState, Verifier, VerifierEvent } from "../../verifier/index.ts";
import {
  expectRefused,
  openSession,
  type Stack,
  startStack,
  tcpProxy,
  Verifiers,
  waitFor,
  waitForRefusal,
} from "./support";

const verifiers = new Verifiers();
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 60_000);
afterAll(async () => {
  await verifiers.closeAll();
  await stack.stop();
});

/** The stream sequence of the latest session.revoked in SESSIONS. */
async function lastRevokedSeq(): Promise<number> {
  const messages = await stack.natsTest.readAll("SESSIONS");
  return Math.max(0, ...messages.filter((m) => m.subject === "session.revoked").map((m) => m.seq));
}

async function verifierConsumers(): Promise<ConsumerInfo[]> {
  const all = await stack.natsTest.jsm.consumers.list("SESSIONS").next();
  return all.filter((info) => info.config.description === "session verifier (ephemeral)");
}

/** A verifier that records its revocation states. */
async function recording(options: Parameters<Verifiers["start"]>[0]) {
  const states: RevocationState[] = [];
  const verifier = await verifiers.start({
    ...options,
    onEvent: (event: VerifierEvent) => {
      if (event.type === "revocations") states.push(event.state);
    },
  });
  return { verifier, states };
}

const stateOf = (verifier: Verifier) => verifier.status().revocations;

describe("the verifier's own link to NATS cut while the service goes on publishing", () => {
  test("disconnected → catching_up → live, resumed after the last applied sequence, misses applied, fail-closed meanwhile", async () => {
    const proxy = await tcpProxy(stack.nats.port);
    try {
      const through = stack.options({ nats: { servers: proxy.url } });
      const plain = await recording(through);
      const strict = await verifiers.start({ ...through, failClosedAfterMs: 300 });
      const patient = await verifiers.start({ ...through, failClosedAfterMs: 600_000 });
      const all = [plain.verifier, strict, patient];
      const before = await openSession(stack, "outage-before");
      const during = await Promise.all([1, 2, 3].map(() => openSession(stack, "outage-during")));
      const keep = await openSession(stack, "outage-keep");
      expect((await stack.api.revoke(before.refresh_token)).status).toBe(200);
      for (const v of all) await waitForRefusal(v, before.access_token, "session_revoked");
      const appliedSeq = await lastRevokedSeq();

      await proxy.cut();
      for (const v of all) await waitFor("disconnected", () => stateOf(v) === "disconnected");
      expect(plain.verifier.status().lagMs).toBeGreaterThanOrEqual(0);
      // Signature alone while disconnected; fail-closed once past its limit; a known revocation still says so.
      expect((await plain.verifier.verify(keep.access_token)).sub).toBe("outage-keep");
      expect((await patient.verify(keep.access_token)).sub).toBe("outage-keep");
      await waitForRefusal(strict, keep.access_token, "unavailable");
      await expectRefused(strict, before.access_token, "session_revoked");
      await expectRefused(strict, "garbage", "invalid_token");

      for (const pair of during) expect((await stack.api.logout(pair.access_token, pair.session_id)).status).toBe(204);
      await waitFor("the logouts in the stream", async () => (await lastRevokedSeq()) >= appliedSeq + 3);
      // Cut off, the verifier cannot know yet: this is the window failClosedAfterMs closes.
      expect((await plain.verifier.verify(during[0]!.access_token)).sid).toBe(during[0]!.session_id);
      await expectRefused(strict, during[0]!.access_token, "unavailable");

      await proxy.restore();
      for (const v of all) await waitFor("live again", () => stateOf(v) === "live", 20_000);
      const afterCut = plain.states.slice(plain.states.lastIndexOf("disconnected"));
      expect(afterCut).toEqual(["disconnected", "catching_up", "live"]);
      for (const v of all) for (const pair of during) await expectRefused(v, pair.access_token, "session_revoked");
      expect((await strict.verify(keep.access_token)).sub).toBe("outage-keep");

      // On the server: one ephemeral memory consumer per verifier, each started right after what it had applied.
      await waitFor("only the three new consumers left", async () => (await verifierConsumers()).length === 3);
      for (const info of await verifierConsumers()) {
        expect(info.config).toMatchObject({
          deliver_policy: "by_start_sequence",
          opt_start_seq: appliedSeq + 1,
          filter_subject: "session.revoked",
          ack_policy: "none",
          mem_storage: true,
        });
        expect(info.config.durable_name).toBeUndefined();
      }
    } finally {
      await verifiers.closeAll();
      await proxy.stop();
    }
    // close() removed them: no state of ours is left on the server.
    await waitFor("no verifier consumer left", async () => (await verifierConsumers()).length === 0);
  }, 90_000);
});

test("a nats-server restart: logouts while it was down are refused once it is back", async () => {
  const { verifier, states } = await recording(stack.options());
  const during = await openSession(stack, "restart-during");
  const keep = await openSession(stack, "restart-keep");
  const marker = await openSession(stack, "restart-marker");
  expect((await stack.api.revoke(marker.refresh_token)).status).toBe(200);
  await waitForRefusal(verifier, marker.access_token, "session_revoked");
  const appliedSeq = await lastRevokedSeq();

  await stack.nats.stop();
  await waitFor("disconnected", () => stateOf(verifier) === "disconnected");
  // The service keeps working while NATS is away; the event waits in its outbox.
  expect((await stack.api.logout(during.access_token, during.session_id)).status).toBe(204);
  await stack.nats.restart();
  await waitFor("live", () => stateOf(verifier) === "live", 30_000);
  await waitForRefusal(verifier, during.access_token, "session_revoked", 30_000);
  expect((await verifier.verify(keep.access_token)).sub).toBe("restart-keep");
  expect(states.slice(states.lastIndexOf("disconnected"))).toContain("catching_up");
  const mine = await waitFor("the verifier's consumer", async () => {
    const found = await verifierConsumers();
    return found.length === 1 ? found[0] : null;
  });
  expect(mine.config.opt_start_seq).toBe(appliedSeq + 1);
  await verifiers.close(verifier);
}, 90_000);

test("its consumer deleted under it: three missed heartbeats, a new consumer, nothing missed", async () => {
  const { verifier, states } = await recording(stack.options({ heartbeatMs: 200 }));
  const victim = await openSession(stack, "deleted-consumer");
  const consumer = await waitFor("its consumer, alone", async () => {
    const found = await verifierConsumers();
    return found.length === 1 ? found[0] : null;
  });
  await stack.natsTest.jsm.consumers.delete("SESSIONS", consumer.name);
  expect((await stack.api.revoke(victim.refresh_token)).status).toBe(200);
  await waitForRefusal(verifier, victim.access_token, "session_revoked", 20_000);
  expect(states).toContain("disconnected");
  // The revocation may be applied while the new consumer still catches up; live follows once it
  // has seen nothing pending (the next heartbeat), not necessarily before this line.
  await waitFor("live", () => stateOf(verifier) === "live", 10_000);
  const [replacement] = await verifierConsumers();
  expect(replacement!.name).not.toBe(consumer.name);
  await verifiers.close(verifier);
}, 60_000);

test("NATS unreachable at start: resolves disconnected, replays the lookback once NATS is reachable", async () => {
  const revokedEarlier = await openSession(stack, "late-nats");
  expect((await stack.api.revoke(revokedEarlier.refresh_token)).status).toBe(200);
  await waitFor("its event in the stream", async () => (await lastRevokedSeq()) > 0);
  const proxy = await tcpProxy(stack.nats.port);
  await proxy.cut();
  try {
    const through = stack.options({ nats: { servers: proxy.url } });
    const started = performance.now();
    const lenient = await verifiers.start(through);
    const strict = await verifiers.start({ ...through, failClosedAfterMs: 0 });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(lenient.status()).toMatchObject({ revocations: "disconnected", keys: 1 });
    expect(typeof lenient.status().lagMs).toBe("number");
    // Nothing known yet: signature alone, or unavailable when failing closed.
    expect((await lenient.verify(revokedEarlier.access_token)).sub).toBe("late-nats");
    await expectRefused(strict, revokedEarlier.access_token, "unavailable");
    await proxy.restore();
    for (const v of [lenient, strict]) {
      await waitFor("live", () => stateOf(v) === "live", 20_000);
      await expectRefused(v, revokedEarlier.access_token, "session_revoked");
    }
  } finally {
    await verifiers.closeAll();
    await proxy.stop();
  }
}, 60_000);

test("lagMs: heartbeats keep it small while nothing happens; null without nats", async () => {
  const { verifier, states } = await recording(stack.options({ heartbeatMs: 200 }));
  const until = performance.now() + 3_000;
  let worst = 0;
  await waitFor("3 s of idle stream", () => {
    worst = Math.max(worst, verifier.status().lagMs!);
    return performance.now() > until;
  });
  expect(worst).toBeLessThan(1_500);
  expect(states).not.toContain("disconnected");
  const without = await verifiers.start({ jwksUrl: stack.jwksUrl });
  expect(without.status()).toMatchObject({ revocations: "disabled", lagMs: null });
  await verifiers.closeAll();
}, 30_000);
