/**
 * Client-side round-robin over the instances, as a gateway balances: each request goes to the
 * next instance; a refused connection (the instance is down, so the request never reached it) is
 * tried on the next one, up to every instance once. Any other failure (a reset mid-request, a
 * timeout) is reported as a lost answer: the request may or may not have been applied.
 */
import type { Instance } from "./instances";

export interface Answer {
  status: number | null;
  body?: unknown;
  error?: string;
  instance: string;
}

const REQUEST_TIMEOUT_MS = 15_000;

function refused(error: unknown): boolean {
  const text = `${(error as { code?: string })?.code ?? ""} ${String(error)}`;
  return /ConnectionRefused|ECONNREFUSED|Unable to connect/i.test(text);
}

export class Balancer {
  private next = 0;

  constructor(readonly instances: Instance[]) {}

  /** Sends to the next instance in turn (or to `only`), retrying refused connections on the others. */
  async send(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; only?: Instance } = {},
  ): Promise<Answer> {
    const order = options.only ? [options.only] : this.rotation();
    let last: Answer = { status: null, error: "no instance", instance: order[0]?.name ?? "" };
    for (const instance of order) {
      try {
        const response = await fetch(`${instance.url}${path}`, {
          method,
          headers: {
            ...(options.body === undefined ? {} : { "content-type": "application/json" }),
            ...options.headers,
          },
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const text = await response.text();
        let body: unknown = text;
        try {
          body = text === "" ? undefined : JSON.parse(text);
        } catch {
          // Kept as text: a non-JSON answer is itself worth reporting.
        }
        return { status: response.status, body, instance: instance.name };
      } catch (error) {
        last = { status: null, error: errorName(error), instance: instance.name };
        if (!refused(error)) return last;
      }
    }
    return last;
  }

  private rotation(): Instance[] {
    const start = this.next++ % this.instances.length;
    return [...this.instances.slice(start), ...this.instances.slice(0, start)];
  }
}

function errorName(error: unknown): string {
  const code = (error as { code?: string; name?: string })?.code ?? (error as { name?: string })?.name;
  return code ? String(code) : "error";
}
