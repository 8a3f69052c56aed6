/**
 * /docs as a person on a machine without internet access sees it: Debian's Chromium (driven by
 * playwright-core) loads the real server's page. Every operation of the OpenAPI document, every
 * path of the contract among them, must be rendered; no request may leave the service's origin
 * (each one is recorded) and no Content-Security-Policy violation may happen. A screenshot is kept
 * in test/browser/artifacts/ (git-ignored). Without Chromium this test fails: `.ci/run` installs it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { tempDir } from "../support/core";
import { type RunningServer, startServer } from "../support/server";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(import.meta.dir, "artifacts");

/** CONTRACT §3, endpoints and operations (PATCH /session/{id} shares its path with DELETE). */
const CONTRACT_PATHS = [
  "/session",
  "/session/refresh",
  "/session/validate",
  "/session/revoke",
  "/session/{id}",
  "/session/all",
  "/session/me",
  "/.well-known/jwks.json",
  "/healthz",
  "/readyz",
  "/metrics",
];

const dir = tempDir("session-docs-");
const profile = tempDir("session-chromium-");
let server: RunningServer;
let browser: BrowserContext;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  server = await startServer(dir);
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
});

test("/docs renders every operation from the service alone, within its Content-Security-Policy", async () => {
  const origin = new URL(server.url).origin;
  const requests: string[] = [];
  const problems: string[] = [];
  browser.on("request", (request) => requests.push(request.url()));
  const page = await browser.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`));

  const response = await page.goto(`${server.url}/docs`, { waitUntil: "load" });
  expect(response!.status()).toBe(200);
  const csp = response!.headers()["content-security-policy"]!;
  expect(csp).toContain("default-src 'none'");
  // The policy names no origin at all: only 'self', 'none', 'unsafe-inline' and data: for images.
  expect(csp.match(/https?:|\/\/|\*/g)).toBeNull();

  const doc = (await (await fetch(`${server.url}/docs/json`)).json()) as { paths: Record<string, object> };
  const expected = Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
  const summaries = page.locator(".opblock-summary");
  // A string, evaluated in the page: this file is type-checked without the DOM's types.
  await page.waitForFunction(`document.querySelectorAll(".opblock-summary").length >= ${expected.length}`, null, {
    timeout: 30_000,
  });
  const rendered = (
    await summaries.evaluateAll((nodes) =>
      nodes.map(
        (node) =>
          `${node.querySelector(".opblock-summary-method")?.textContent} ${node.querySelector("[data-path]")?.getAttribute("data-path")}`,
      ),
    )
  ).sort();
  expect(rendered).toEqual(expected);
  const renderedPaths = new Set(rendered.map((line) => line.split(" ")[1]));
  for (const path of CONTRACT_PATHS) expect(renderedPaths.has(path)).toBe(true);
  await expect(page.locator(".swagger-ui .info .title").textContent()).resolves.toContain("Session Service");

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, "docs.png"), fullPage: true });

  expect(requests.length).toBeGreaterThanOrEqual(5); // page, style sheet, two scripts, document
  expect(requests.filter((url) => !url.startsWith("data:") && new URL(url).origin !== origin)).toEqual([]);
  expect(requests).toContain(`${server.url}/docs/json`);
  expect(problems).toEqual([]);
}, 90_000);
