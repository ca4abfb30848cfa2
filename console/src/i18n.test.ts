import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { diffLines, withContext } from './diff';
import { en, vi } from './dict';
import { initialLang } from './i18n';
import { aqiCategory, floodLevel } from './ui';

const SRC = import.meta.dirname;
const sources = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? sources(join(dir, n)) : /\.tsx?$/.test(n) && !n.endsWith('.test.ts') && !n.endsWith('.d.ts') ? [join(dir, n)] : []));
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

/** Words a page may show as they are: the product's name. */
const NOT_TRANSLATED = new Set(['cityedge']);
/** Attributes a person reads (or hears from a screen reader). */
const READ_ATTRIBUTES = new Set(['aria-label', 'title', 'placeholder', 'alt', 'label']);

describe('the console speaks Vietnamese and English', () => {
  it('has every key in both languages, none empty, with the same placeholders', () => {
    expect(Object.keys(vi).sort()).toEqual(Object.keys(en).sort());
    for (const [key, text] of Object.entries(en)) {
      const other = vi[key as keyof typeof en];
      expect(text.trim(), `en ${key}`).not.toBe('');
      expect(other.trim(), `vi ${key}`).not.toBe('');
      expect(placeholders(other), `placeholders of ${key}`).toEqual(placeholders(text));
    }
  });

  it('translates what differs: Vietnamese is not a copy of the English for most keys', () => {
    const same = Object.keys(en).filter((k) => en[k as keyof typeof en] === vi[k as keyof typeof en]);
    // Names and formats that are the same in both (language names, AQI, JSON examples).
    expect(same.sort()).toEqual(['aqi.value', 'dev.pointsHint', 'lang.en', 'lang.vi']);
  });

  it('uses only keys that exist, and no text outside the dictionary in the pages', () => {
    const problems: string[] = [];
    for (const file of sources(SRC)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bt\('([^']+)'/g)) if (!(m[1]! in en)) problems.push(`${file}: unknown key ${m[1]}`);
      const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
      const visit = (node: ts.Node) => {
        if (ts.isJsxText(node)) {
          const words = node.text.replace(/\s+/g, ' ').trim();
          if (/\p{L}/u.test(words) && !NOT_TRANSLATED.has(words)) problems.push(`${file}: text "${words}"`);
        }
        if (ts.isJsxAttribute(node) && READ_ATTRIBUTES.has(node.name.getText()) && node.initializer && ts.isStringLiteral(node.initializer) && /\p{L}/u.test(node.initializer.text)) {
          problems.push(`${file}: ${node.name.getText()}="${node.initializer.text}"`);
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
    expect(problems).toEqual([]);
  });

  it('picks Vietnamese for a Vietnamese browser, English otherwise, and a remembered choice first', () => {
    expect(initialLang(null, 'vi-VN')).toBe('vi');
    expect(initialLang(null, 'vi')).toBe('vi');
    expect(initialLang(null, 'en-US')).toBe('en');
    expect(initialLang(null, 'fr-FR')).toBe('en');
    expect(initialLang(null, undefined)).toBe('en');
    expect(initialLang('en', 'vi-VN')).toBe('en');
    expect(initialLang('vi', 'en-GB')).toBe('vi');
    expect(initialLang('de', 'vi-VN')).toBe('vi');
  });
});

describe('alarm levels in their official colours', () => {
  it('reads flood levels BD I/II/III in their usual spellings', () => {
    expect(floodLevel('BD I')).toBe('BD I');
    expect(floodLevel('bd2')).toBe('BD II');
    expect(floodLevel('BD_II')).toBe('BD II');
    expect(floodLevel('BĐ III')).toBe('BD III');
    expect(floodLevel('level-3')).toBe('BD III');
    expect(floodLevel('high')).toBeUndefined();
  });
  it('puts VN_AQI values in the categories of Decision 1459/QD-TCMT', () => {
    expect([0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500].map((v) => aqiCategory(v).key)).toEqual([
      'aqi.good', 'aqi.good', 'aqi.moderate', 'aqi.moderate', 'aqi.poor', 'aqi.poor', 'aqi.bad', 'aqi.bad', 'aqi.veryBad', 'aqi.veryBad', 'aqi.hazardous', 'aqi.hazardous',
    ]);
    expect(aqiCategory(110).bg).toBe('rgb(255,126,0)');
    expect(aqiCategory(250).bg).toBe('rgb(143,63,151)');
  });
});

describe('configuration diff', () => {
  it('shows removed and added lines between two versions, with context and gaps', () => {
    const a = ['{', '  "a": 1,', '  "b": 2,', '  "c": 3,', '  "d": 4,', '  "e": 5,', '  "f": 6,', '  "g": 7', '}'].join('\n');
    const b = a.replace('"b": 2', '"b": 20').replace('"g": 7', '"g": 7,\n  "h": 8');
    const d = diffLines(a, b);
    expect(d.filter((l) => l.op === '-').map((l) => l.text)).toEqual(['  "b": 2,', '  "g": 7']);
    expect(d.filter((l) => l.op === '+').map((l) => l.text)).toEqual(['  "b": 20,', '  "g": 7,', '  "h": 8']);
    expect(withContext(d, 1)).toContain(null);
    expect(diffLines(a, a).every((l) => l.op === ' ')).toBe(true);
  });
});
