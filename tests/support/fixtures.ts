import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { formatProblems, type GatewayConfigInput, type Reading } from '@cityedge/contract';
import { Agent, resolveDocument } from '@cityedge/edge-agent';

export const quiet = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export function tempDir(prefix = 'cityedge-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Validates a configuration exactly as the agent's CLI does and builds an agent in process. */
export async function buildAgent(config: GatewayConfigInput, stateDir = tempDir(), extra: { random?: () => number } = {}): Promise<Agent> {
  const r = await resolveDocument(config, stateDir);
  if (!r.ok) throw new Error(formatProblems(r.problems, 'test config'));
  return new Agent({ resolved: r.value, stateDir, logger: quiet, ...extra });
}

/** The latest reading of each device point, good or bad. */
export function latest(readings: readonly Reading[]): Map<string, Reading> {
  const m = new Map<string, Reading>();
  for (const r of readings) m.set(`${r.dev}.${r.pt}`, r);
  return m;
}

export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls an asynchronous check until it gives a value (not undefined). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
