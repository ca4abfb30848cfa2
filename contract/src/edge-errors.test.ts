import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EDGE_ERRORS, EdgeError, edgeErrorCode } from './edge-errors.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'testing' ? [] : sources(p);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('the agent error catalogue', () => {
  it('README lists every code with its kind, and nothing else', () => {
    const documented = new Map([...README.matchAll(/^\| `(EDGE_[A-Z0-9_]+)` \| (\w+) \|/gm)].map((m) => [m[1]!, m[2]!]));
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(Object.entries(EDGE_ERRORS).map(([code, e]) => [code, e.kind])));
  });

  it('holds every EDGE_ code the gateway software gives', () => {
    const files = ['contract/src', 'drivers/src', 'edge-agent/src'].flatMap((d) => sources(join(ROOT, d)));
    const used = new Set(files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\b(EDGE_[A-Z0-9_]*[A-Z0-9])\b/g)].map((m) => m[1]!)));
    expect(used.size).toBeGreaterThan(30);
    // EDGE_ERRORS is the catalogue's own name; EDGE_MODBUS_EXCEPTION_0X is how docs spell the per-exception codes
    expect([...used].filter((c) => !(c in EDGE_ERRORS) && c !== 'EDGE_ERRORS' && c !== 'EDGE_MODBUS_EXCEPTION_0X').sort()).toEqual([]);
  });

  it('is the base of the coded errors', () => {
    const err = new EdgeError('EDGE_CMD_EXPIRED', 'too late', { cause: new Error('clock') });
    expect(err).toBeInstanceOf(Error);
    expect(edgeErrorCode(err)).toBe('EDGE_CMD_EXPIRED');
    expect(edgeErrorCode(new Error('plain'))).toBeUndefined();
    expect(edgeErrorCode({ code: 'ENOENT' })).toBeUndefined();
  });
});
