/**
 * The client workload: a few loops, each a user signing in on up to 3 devices and then refreshing
 * (alone, several at once with one token, and again with the same token when an answer was lost),
 * validating, listing, logging out one device or all, and now and then being deleted by the
 * identity service (`user.deleted`, sometimes published twice). Each loop works on its own users
 * one operation at a time, so the history knows what preceded what.
 */
import { randomUUID } from "node:crypto";
import type { Answer, Balancer } from "./deployment/balancer";
import type { History, Op, OpKind } from "./history";
import type { Random } from "./random";

export interface WorkloadOptions {
  balancer: Balancer;
  history: History;
  random: Random;
  serviceKey: string;
  /** Publishes one `user.deleted` and resolves true once JetStream acknowledged it. */
  publishUserDeleted: (payload: object, msgId: string) => Promise<boolean>;
  loops: number;
  stopped: () => boolean;
}

interface Device {
  sessionId: string;
  refresh: string;
  access: string;
}

const MAX_DEVICES = 3;
const REFRESH_ATTEMPTS = 6;

export async function runWorkload(options: WorkloadOptions): Promise<void> {
  await Promise.all(Array.from({ length: options.loops }, (_, i) => runLoop(options, i, options.random.fork(i))));
}

async function runLoop(options: WorkloadOptions, loop: number, random: Random): Promise<void> {
  const { balancer, history, stopped } = options;
  const service = { authorization: `Bearer ${options.serviceKey}` };
  let users = 0;
  let userId = `chaos-${loop}-${users}`;
  let devices: Device[] = [];
  let group = loop * 1_000_000;
  /** Whether this loop's last call went unanswered or got 503. */
  let unavailable = false;

  const call = async (
    kind: OpKind,
    fields: Partial<Op>,
    method: string,
    path: string,
    request: { body?: unknown; headers?: Record<string, string> },
  ): Promise<Op> => {
    const op = history.begin({ kind, userId, ...fields });
    const answer: Answer = await balancer.send(method, path, request);
    unavailable = answer.status === null || answer.status === 503;
    return history.finish(op, answer);
  };
  /** A call that presents the device's refresh token in the body (refresh, validate, revoke). */
  const withRefreshToken = (
    kind: OpKind,
    device: Device,
    path: string,
    extra: Partial<Op> = {},
    headers?: Record<string, string>,
  ) =>
    call(kind, { sessionId: device.sessionId, token: device.refresh, ...extra }, "POST", path, {
      body: { refresh_token: device.refresh },
      headers,
    });
  /** A call as the signed-in user, with the device's access token (me, logout, logout everywhere). */
  const withAccessToken = (kind: OpKind, device: Device, method: string, path: string) =>
    call(kind, { sessionId: device.sessionId }, method, path, {
      headers: { authorization: `Bearer ${device.access}` },
    });
  const drop = (device: Device) => {
    devices = devices.filter((d) => d !== device);
  };
  /** Takes the new pair of a 200; an answer without one is reported by the status check, the device keeps its own. */
  const adopt = (device: Device, op: Op) => {
    if (op.body?.refresh_token && op.body.access_token) {
      device.refresh = op.body.refresh_token;
      device.access = op.body.access_token;
    }
  };

  /** One refresh, repeated with the same token while the answer is lost or 503 (a client retrying safely). */
  const refresh = async (device: Device, first?: Op): Promise<void> => {
    let previous = first;
    for (let attempt = first ? 1 : 0; attempt < REFRESH_ATTEMPTS && !stopped(); attempt++) {
      const op = await withRefreshToken("refresh", device, "/session/refresh", { retryOf: previous?.id });
      if (op.status === 200) return adopt(device, op);
      if (op.status !== null && op.status !== 503) return drop(device);
      previous = op;
      await Bun.sleep(random.int(100, 400));
    }
    // Never heard back: which token is current is unknown, so this device stops using the session.
    drop(device);
  };

  let steps = 0;
  while (!stopped()) {
    steps += 1;
    const device = devices.length > 0 ? random.pick(devices) : null;
    // However slow the machine, every run deletes at least one user (loop 0, at its 30th step).
    const kind =
      loop === 0 && steps === 30
        ? "user_deleted"
        : device
          ? random.weighted({
              create: devices.length < MAX_DEVICES ? 2 : 0,
              refresh: 5,
              concurrent: 1,
              lost_answer: 1,
              validate: 3,
              me: 2,
              logout: 1,
              revoke: 1,
              logout_all: 0.4,
              user_deleted: 0.15,
            })
          : "create";

    if (kind === "create") {
      const op = await call("create", {}, "POST", "/session", {
        body: { user_id: userId, user_agent: "chaos-client/1.0", ip: "127.0.0.1" },
        headers: service,
      });
      const { session_id, refresh_token, access_token } = op.body ?? {};
      if (op.status === 201 && session_id && refresh_token && access_token) {
        op.sessionId = session_id;
        devices.push({ sessionId: session_id, refresh: refresh_token, access: access_token });
      }
    } else if (device && kind === "refresh") {
      await refresh(device);
    } else if (device && kind === "concurrent") {
      group += 1;
      const ops = await Promise.all(
        Array.from({ length: 3 }, () => withRefreshToken("refresh", device, "/session/refresh", { group })),
      );
      const ok = ops.find((op) => op.status === 200);
      if (ok) adopt(device, ok);
      else if (ops.some((op) => op.status !== null && op.status !== 503)) drop(device);
      else await refresh(device, ops[ops.length - 1]);
    } else if (device && kind === "lost_answer") {
      // A client that sent a refresh and never read the answer sends the same token again (to
      // whichever instance is next): the contract says it gets the same pair as the lost answer.
      const lost = await withRefreshToken("refresh", device, "/session/refresh");
      if (lost.status === 401) drop(device);
      else await refresh(device, lost);
    } else if (device && kind === "validate") {
      await withRefreshToken("validate", device, "/session/validate", {}, service);
    } else if (device && kind === "me") {
      const op = await withAccessToken("me", device, "GET", "/session/me");
      if (op.status === 401) drop(device);
    } else if (device && kind === "logout") {
      const op = await withAccessToken("logout", device, "DELETE", `/session/${device.sessionId}`);
      if (op.status === 204 || op.status === 401) drop(device);
    } else if (device && kind === "revoke") {
      const op = await withRefreshToken("revoke", device, "/session/revoke");
      if (op.status === 200) drop(device);
    } else if (device && kind === "logout_all") {
      const op = await withAccessToken("logout_all", device, "DELETE", "/session/all");
      if (op.status === 200) devices = [];
      else if (op.status === 401) drop(device);
    } else if (kind === "user_deleted") {
      const copies = random.chance(0.3) ? 2 : 1;
      for (let copy = 0; copy < copies; copy++) await deleteUser(options, userId);
      users += 1;
      userId = `chaos-${loop}-${users}`;
      devices = [];
    }
    // A client backs off when the service is unavailable instead of hammering it.
    await Bun.sleep(unavailable ? random.int(100, 300) : random.int(2, 15));
  }
}

/** The identity service's `user.deleted` (CloudEvents), published until JetStream acknowledges it. */
async function deleteUser(options: WorkloadOptions, userId: string): Promise<void> {
  const id = randomUUID();
  const payload = {
    specversion: "1.0",
    id,
    source: "identity-service",
    type: "user.deleted",
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    data: { user_id: userId },
  };
  const op = options.history.begin({ kind: "user_deleted", userId });
  // Keeps trying after the run's end too (a NATS node may be down): the check needs it delivered.
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await options.publishUserDeleted(payload, id)) {
      options.history.finish(op, { status: 200, body: { id } });
      return;
    }
    await Bun.sleep(250);
  }
  options.history.finish(op, { status: null, error: "not acknowledged", body: { id } });
}
