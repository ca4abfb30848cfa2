import { execFile } from 'node:child_process';

/**
 * Whether ffmpeg can be run: `<path> -version` exits 0. The answer is kept for `ttlMs` so a
 * live-view request does not start a process each time, and re-checked afterwards (ffmpeg may
 * be installed while the registry runs).
 */
export class FfmpegCheck {
  private cached: { ok: boolean; at: number } | undefined;
  private pending: Promise<boolean> | undefined;

  constructor(
    readonly path: string,
    private readonly now: () => number,
    private readonly ttlMs = 60_000,
  ) {}

  async available(): Promise<boolean> {
    const c = this.cached;
    if (c && this.now() - c.at < this.ttlMs) return c.ok;
    this.pending ??= new Promise<boolean>((resolve) => {
      execFile(this.path, ['-hide_banner', '-version'], { timeout: 5000, windowsHide: true }, (err) => resolve(!err));
    }).then((ok) => {
      this.cached = { ok, at: this.now() };
      this.pending = undefined;
      return ok;
    });
    return this.pending;
  }

  /** Forget the cached answer (ffmpeg failed to start after all). */
  invalidate(): void {
    this.cached = undefined;
  }
}
