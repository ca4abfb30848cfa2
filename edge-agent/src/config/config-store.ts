import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import type { SignedConfig } from '@cityedge/contract';
import { removeFileDurably, writeFileAtomic } from './atomic-file.js';

const Attempt = z.object({ version: z.int(), startedAt: z.int() });
const Floor = z.object({ floor: z.int().min(0) });

/**
 * The configuration state a gateway keeps across restarts, each piece in its own file replaced
 * atomically:
 *   config/last-good.json  the signed configuration last committed (verified again at boot)
 *   config/attempt.json    a configuration being tried; present at boot = the try failed
 *   config/floor.json      versions at or below this were rejected or rolled back: never applied again
 */
export class ConfigStore {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'config');
  }

  private read<T>(name: string, schema: z.ZodType<T>): T | undefined {
    const path = join(this.dir, name);
    if (!existsSync(path)) return undefined;
    try {
      const parsed = schema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  lastGood(): unknown {
    return this.read('last-good.json', z.unknown());
  }

  commit(doc: SignedConfig): void {
    writeFileAtomic(join(this.dir, 'last-good.json'), JSON.stringify(doc));
    this.clearAttempt();
  }

  attempt(): { version: number; startedAt: number } | undefined {
    return this.read('attempt.json', Attempt);
  }

  beginAttempt(version: number, now: number): void {
    writeFileAtomic(join(this.dir, 'attempt.json'), JSON.stringify({ version, startedAt: now }));
  }

  clearAttempt(): void {
    removeFileDurably(join(this.dir, 'attempt.json'));
  }

  floor(): number {
    return this.read('floor.json', Floor)?.floor ?? 0;
  }

  raiseFloor(version: number): void {
    if (version > this.floor()) writeFileAtomic(join(this.dir, 'floor.json'), JSON.stringify({ floor: version }));
  }
}
