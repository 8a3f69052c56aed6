/** Runs a command to its end with a minimal environment and collects what it wrote. */
export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runProcess(cmd: string[], cwd: string, env: Record<string, string> = {}): Promise<ProcessResult> {
  const proc = Bun.spawn(cmd, {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}
