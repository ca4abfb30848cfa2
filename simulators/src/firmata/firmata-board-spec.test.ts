import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SimError } from '../errors.js';
import { parseSimulationSpec } from '../simulation.js';
import { unoPin } from './firmata-board.js';

describe('Firmata board spec', () => {
  it('accepts the example of the README (Simulators) with its defaults', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n(firmataBoards:[\s\S]*?)```/.exec(readme)?.[1];
    expect(yaml).toBeDefined();
    const spec = parseSimulationSpec(parseYaml(yaml!));
    expect(spec.firmataBoards[0]).toMatchObject({ id: 'uno', port: 3030, host: '127.0.0.1', analog: { A0: 2.5 }, rainGauge: { pin: 'D3', periodMs: 2000, widthMs: 50 } });
  });

  it('reports every problem with its path', () => {
    const bad = { firmataBoards: [{ id: 'a', path: '/tmp/x', port: 1, digital: { D25: true }, analog: { A0: 7 }, rainGauge: { pin: 'D3', periodMs: 100, widthMs: 100 } }, { id: 'a', port: 0 }] };
    let problems: string[] = [];
    try {
      parseSimulationSpec(bad);
    } catch (err) {
      problems = (err as SimError).problems.map((p) => `${p.path}: ${p.message}`);
    }
    expect(problems).toEqual([
      'firmataBoards[0].digital.D25: expected an Uno pin D0..D19 or A0..A5',
      'firmataBoards[0].analog.A0: expected <= 5',
      'firmataBoards[0].rainGauge.widthMs: widthMs must be less than periodMs',
      'firmataBoards[0].path: a board needs either "path" (serial, e.g. a socat pty) or "port" (a network board), not both',
      'firmataBoards[1].id: duplicate board id "a" (also firmataBoards[0])',
    ]);
  });

  it('names Uno pins: D0..D19 and A0..A5 (D14..D19)', () => {
    expect([unoPin('D2'), unoPin('a0'), unoPin('A5'), unoPin(13)]).toEqual([2, 14, 19, 13]);
    expect(() => unoPin('B7')).toThrow(/not a pin/);
  });
});
