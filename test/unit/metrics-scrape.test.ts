/**
 * Scrapes of /metrics render at most once per gap, however many arrive and however fast, and what
 * a scrape gets is never older than its arrival (issue 12, finding 2: an anonymous caller must not
 * be able to keep the event loop busy rendering).
 */
import { expect, test } from "bun:test";
import { Metrics } from "../../server/metrics";

const GAP_MS = 100;

/** A Metrics whose renders are timed. */
function timedMetrics() {
  const metrics = new Metrics(GAP_MS);
  const renders: number[] = [];
  const render = metrics.registry.metrics.bind(metrics.registry);
  metrics.registry.metrics = () => {
    renders.push(performance.now());
    return render();
  };
  return { metrics, renders };
}

test("back-to-back scrapes: one render per gap, never two closer together", async () => {
  const { metrics, renders } = timedMetrics();
  for (let i = 0; i < 6; i++) await metrics.scrape();
  expect(renders).toHaveLength(6);
  // A timer may fire a fraction of a millisecond early; it never fires a whole one early.
  for (let i = 1; i < renders.length; i++) expect(renders[i] - renders[i - 1]).toBeGreaterThan(GAP_MS - 1);
});

test("scrapes arriving together share one render", async () => {
  const { metrics, renders } = timedMetrics();
  await metrics.scrape();
  const texts = await Promise.all(Array.from({ length: 50 }, () => metrics.scrape()));
  expect(renders).toHaveLength(2);
  expect(new Set(texts).size).toBe(1);
});

test("a scrape that waited sees what happened before it arrived", async () => {
  const { metrics } = timedMetrics();
  await metrics.scrape();
  metrics.sessionsCreated.inc(3);
  expect(await metrics.scrape()).toContain("\nsessions_created_total 3\n");
});
