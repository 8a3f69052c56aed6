/** The DPoP settings of CONTRACT §7: PUBLIC_URL, DPOP_PROOF_MAX_AGE, DPOP_CLOCK_SKEW, DPOP_NONCE. */
import { expect, test } from "bun:test";
import { loadConfig } from "../../server/config";

const ok = (env: Record<string, string>) => {
  const result = loadConfig(env);
  if (!result.ok) throw new Error(result.errors.join("; "));
  return result.config;
};

test("defaults: http://localhost:PORT, 60s, 5s, nonces off", () => {
  expect(ok({})).toMatchObject({
    publicUrl: "http://localhost:3000",
    dpopProofMaxAgeMs: 60_000,
    dpopClockSkewMs: 5_000,
    dpopNonce: false,
  });
  expect(ok({ PORT: "8080" }).publicUrl).toBe("http://localhost:8080");
});

test("set values are parsed; PUBLIC_URL keeps its path prefix and loses its trailing slash", () => {
  expect(
    ok({
      PUBLIC_URL: "https://GW.example:443/auth/",
      DPOP_PROOF_MAX_AGE: "2m",
      DPOP_CLOCK_SKEW: "1s",
      DPOP_NONCE: "on",
    }),
  ).toMatchObject({
    publicUrl: "https://gw.example/auth",
    dpopProofMaxAgeMs: 120_000,
    dpopClockSkewMs: 1000,
    dpopNonce: true,
  });
  expect(ok({ DPOP_NONCE: "off" }).dpopNonce).toBe(false);
  expect(ok({ DPOP_NONCE: "ON" }).dpopNonce).toBe(true);
});

test("bad values are all reported at once, like every other setting", () => {
  const result = loadConfig({
    PUBLIC_URL: "gw.example/auth",
    DPOP_PROOF_MAX_AGE: "500ms",
    DPOP_CLOCK_SKEW: "soon",
    DPOP_NONCE: "yes",
  });
  expect(result.ok).toBe(false);
  const errors = result.ok ? [] : result.errors;
  expect(errors).toHaveLength(4);
  for (const name of ["PUBLIC_URL", "DPOP_PROOF_MAX_AGE", "DPOP_CLOCK_SKEW", "DPOP_NONCE"]) {
    expect(errors.some((message) => message.startsWith(name))).toBe(true);
  }
});

test("PUBLIC_URL with a query, a fragment, credentials or another scheme is refused", () => {
  for (const url of [
    "https://gw.example/?a=1",
    "https://gw.example/#x",
    "https://u:p@gw.example",
    "ftp://gw.example",
  ]) {
    const result = loadConfig({ PUBLIC_URL: url });
    expect(result.ok ? [] : result.errors).toEqual([
      "PUBLIC_URL must be an absolute http:// or https:// URL without query, fragment or credentials",
    ]);
  }
});
