import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS } from './errors.js';

const SRC = new URL('.', import.meta.url).pathname;
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('error catalogue', () => {
  const documented = new Map([...README.matchAll(/^\| `(REG_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));

  it('README documents every code with its status, and nothing else', () => {
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(Object.entries(ERRORS).map(([code, e]) => [code, e.status])));
  });

  it('every code the HTTP layer answers is in the catalogue, and every REG_ code anywhere is documented', () => {
    const files = sources(SRC);
    const codesIn = (f: string) => [...readFileSync(f, 'utf8').matchAll(/'(REG_[A-Z_]+)'/g)].map((m) => m[1]!);
    const core = new Set(files.filter((f) => !/\/(broker|ingest)\//.test(f)).flatMap(codesIn));
    expect([...core].filter((c) => !(c in ERRORS))).toEqual([]);
    const anywhere = new Set(files.flatMap(codesIn));
    const inReadme = new Set([...README.matchAll(/^\| `(REG_[A-Z_]+)` \|/gm)].map((m) => m[1]!));
    expect([...anywhere].filter((c) => !inReadme.has(c))).toEqual([]);
  });

  it('answers only 4xx for client mistakes and 5xx for the registry, the broker or a missing ffmpeg', () => {
    for (const [code, e] of Object.entries(ERRORS)) expect(['REG_INTERNAL', 'REG_BROKER_UNAVAILABLE', 'REG_LIVE_UNAVAILABLE', 'REG_SHUTTING_DOWN'].includes(code) ? e.status >= 500 : e.status < 500).toBe(true);
  });
});
