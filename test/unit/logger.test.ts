import { expect, test } from "bun:test";
import { Writable } from "node:stream";
import { createLogger } from "../../server/logger";

test("token and credential fields are censored in log lines", () => {
  const lines: string[] = [];
  const sink = new Writable({
    write: (chunk, _enc, done) => {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger("info", sink);
  logger.info(
    {
      refresh_token: "rt-secret",
      access_token: "at-secret",
      service_key: "sk-secret",
      authorization: "Bearer x-secret",
      headers: { authorization: "Bearer y-secret" },
    },
    "careless",
  );
  expect(lines).toHaveLength(1);
  const line = JSON.parse(lines[0]);
  expect(line).toMatchObject({
    refresh_token: "[redacted]",
    access_token: "[redacted]",
    service_key: "[redacted]",
    authorization: "[redacted]",
    headers: { authorization: "[redacted]" },
  });
  expect(lines[0]).not.toContain("secret");
});
