import type { WireReply } from './render.js';

/**
 * Sends replies on one connection in request order, holding later ones behind a slow one, as a
 * device that answers one request at a time does. close() drops what is pending and clears its timer.
 */
export class ReplyQueue {
  private readonly pending: WireReply[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly write: (bytes: Buffer) => void) {}

  push(reply: WireReply): void {
    if (this.closed) return;
    this.pending.push(reply);
    if (this.timer === undefined && this.pending.length === 1) this.drain();
  }

  private drain(): void {
    while (!this.closed) {
      const next = this.pending[0];
      if (!next) return;
      if (next.delayMs > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pending.shift();
          if (!this.closed) this.write(next.bytes);
          this.drain();
        }, next.delayMs);
        return;
      }
      this.pending.shift();
      this.write(next.bytes);
    }
  }

  close(): void {
    this.closed = true;
    this.pending.length = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
