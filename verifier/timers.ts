/** Sleeps that `close()` can end at once, so no timer keeps a finished process alive. */

export interface Sleep {
  /** Resolves true when the time passed, false when cancelled. One sleep at a time. */
  sleep(ms: number): Promise<boolean>;
  cancel(): void;
}

export function cancellableSleep(): Sleep {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let wake: ((elapsed: boolean) => void) | null = null;
  const cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const resolve = wake;
    wake = null;
    resolve?.(false);
  };
  return {
    sleep(ms) {
      cancel();
      return new Promise<boolean>((resolve) => {
        wake = resolve;
        timer = setTimeout(() => {
          timer = null;
          wake = null;
          resolve(true);
        }, ms);
      });
    },
    cancel,
  };
}
