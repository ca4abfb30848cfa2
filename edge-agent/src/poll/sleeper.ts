/** A wait that can be cut short: what a scheduler's loop sleeps in until its next due time, woken by new work or stop(). */
export class Sleeper {
  private wakeUp: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = resolve;
      this.timer = setTimeout(resolve, Math.max(0, ms));
    });
  }

  /** Ends the current sleep now (nothing happens when none is under way). */
  wake(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeUp?.();
  }
}
