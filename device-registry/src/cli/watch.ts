import { setTimeout as delay } from 'node:timers/promises';
import type { CommandContext } from './command.js';
import { RegistryClientError } from './registry-client.js';

/**
 * edgectl's exit codes. `problems`: a watched configuration was committed, but the gateway
 * reports lines or devices with problems (a port that cannot be opened, a device that never
 * answered): it runs, and something on site needs a technician.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, timeout: 3, problems: 4, interrupted: 130 } as const;

export interface PollOptions<T> {
  ctx: CommandContext;
  intervalMs: number;
  /** Undefined: until interrupted (Ctrl-C). */
  timeoutMs: number | undefined;
  read(): Promise<T>;
  /** Sees each reading; an exit code ends the watch, undefined keeps polling. */
  step(value: T): number | undefined;
  /** The exit code when the time limit passes. */
  onTimeout(): number;
}

/**
 * Polls until `step` gives an exit code or the time runs out. A registry that is briefly
 * unreachable (or slow) is reported once and polled again; an API error ends the watch.
 */
export async function poll<T>(o: PollOptions<T>): Promise<number> {
  const { ctx } = o;
  const deadline = o.timeoutMs === undefined ? Number.POSITIVE_INFINITY : ctx.now() + o.timeoutMs;
  let unreachable = false;
  for (;;) {
    try {
      const value = await o.read();
      if (unreachable) ctx.out.error(`edgectl: ${ctx.command}: the registry answers again`);
      unreachable = false;
      const code = o.step(value);
      if (code !== undefined) return code;
    } catch (err) {
      if (!(err instanceof RegistryClientError) || err.code === 'EDGECTL_BAD_RESPONSE') throw err;
      if (!unreachable) ctx.out.error(`edgectl: ${ctx.command}: ${err.message}; still trying`);
      unreachable = true;
    }
    const left = deadline - ctx.now();
    if (left <= 0) return o.onTimeout();
    await delay(Math.min(o.intervalMs, left), undefined, { signal: ctx.signal });
  }
}
