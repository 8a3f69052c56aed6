import { describe, expect, test } from "bun:test";
import { nextRotation } from "../../server/core/key-rotation";
import { signingKeyRow } from "../support/core";

const key = signingKeyRow;

const TTL = 900_000;
const INTERVAL = 30 * 86_400_000;
const LEAD = 305_000;

describe("nextRotation", () => {
  test("nothing to do while the signer is young", () => {
    expect(nextRotation([key("a", 0)], "EdDSA", TTL, INTERVAL, LEAD, INTERVAL - LEAD - 1)).toBeNull();
  });

  test("publishes the next key `lead` before it is due, activating exactly when due", () => {
    expect(nextRotation([key("a", 0)], "EdDSA", TTL, INTERVAL, LEAD, INTERVAL - LEAD)).toEqual({
      activatesAt: INTERVAL,
    });
  });

  test("late (instances were down): still published a full lead before it signs", () => {
    const now = INTERVAL * 3;
    expect(nextRotation([key("a", 0)], "EdDSA", TTL, INTERVAL, LEAD, now)).toEqual({ activatesAt: now + LEAD });
  });

  test("a key already waiting to activate means no second one", () => {
    const rows = [key("a", 0), key("b", INTERVAL, { createdAt: INTERVAL - LEAD })];
    expect(nextRotation(rows, "EdDSA", TTL, INTERVAL, LEAD, INTERVAL - 1)).toBeNull();
  });

  test("retired keys and keys of another algorithm do not count", () => {
    const rows = [key("a", 0), key("b", INTERVAL, { retiredAt: 5 }), key("c", INTERVAL, { alg: "ES256" })];
    expect(nextRotation(rows, "EdDSA", TTL, INTERVAL, LEAD, INTERVAL - LEAD)).toEqual({ activatesAt: INTERVAL });
  });

  test("no signer yet: start-up makes the first key, not the rotator", () => {
    expect(nextRotation([], "EdDSA", TTL, INTERVAL, LEAD, 0)).toBeNull();
  });
});
