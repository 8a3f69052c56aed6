/**
 * One child process of the deployment that a fault may SIGKILL (or SIGSTOP) and the run restarts
 * with the same command line. Output goes to a log file of the run's temporary folder, so nothing
 * is piped through this process (which also drives the workload).
 */
import { type Subprocess, spawn } from "bun";

export class RestartableProcess {
  private proc: Subprocess | null = null;
  private launches = 0;

  constructor(
    readonly name: string,
    private readonly cmd: string[],
    private readonly env: Record<string, string>,
    private readonly logFile: string,
    private readonly cwd?: string,
  ) {}

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid(): number | null {
    return this.running ? this.proc!.pid : null;
  }

  /** Starts it (appending to its log); the caller waits for readiness its own way. */
  launch(): void {
    if (this.running) return;
    // A log file per launch: opening one for output truncates it, and the earlier run's lines explain a fault.
    this.launches += 1;
    const log = Bun.file(`${this.logFile}.${this.launches}`);
    this.proc = spawn(this.cmd, { cwd: this.cwd, env: this.env, stdin: "ignore", stdout: log, stderr: log });
  }

  /** SIGKILL and wait for the exit (idempotent). */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    proc.kill("SIGCONT");
    proc.kill("SIGKILL");
    await proc.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    proc.kill("SIGTERM");
    const ended = await Promise.race([proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (!ended) await this.kill();
  }
}
