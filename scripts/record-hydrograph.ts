/**
 * Records the river simulator's hydrograph (the model behind the simulated VEGAPULS C 21 and
 * Geolux LX-80) as the fixture of the flood-rule tests: one flood cycle of the Hieu river at Dong
 * Ha, a sample a minute. To record it again after the model changes:
 *   npx esbuild scripts/record-hydrograph.ts --bundle --platform=node --format=esm --external:pino --external:serialport \
 *     --external:zod --external:yaml --external:jsep --external:canonicalize --external:fast-xml-parser --external:jpeg-js \
 *     --outfile=scripts/.record-hydrograph.mjs && node scripts/.record-hydrograph.mjs; rm scripts/.record-hydrograph.mjs
 */
import { writeFileSync } from 'node:fs';
import { createRandom, RiverModel, riverOptions } from '@cityedge/simulators';
import * as z from 'zod';

const HYDROGRAPH_START = Date.parse('2026-10-17T00:00:00+07:00');
const HYDROGRAPH_STEP_MS = 60_000;

/** The demo's river: base 0.8 m, crest 5.3 m (Dong Ha crested at 5.36 m in Oct 2020), one cycle a day, seed 7. */
function recordHydrograph(): number[] {
  const options = z.strictObject(riverOptions).parse({ baseStage: 0.8, peakStage: 5.3, periodHours: 24, noiseM: 0.005 });
  const river = new RiverModel(options, HYDROGRAPH_START, createRandom(7));
  return Array.from({ length: 24 * 60 + 1 }, (_, i) => Math.round(river.stage(HYDROGRAPH_START + i * HYDROGRAPH_STEP_MS) * 1000) / 1000);
}

{
  const stages = recordHydrograph();
  const file = new URL('../edge-agent/src/rules/testing/fixtures/hydrograph-dongha.json', `file://${process.cwd()}/scripts/`);
  writeFileSync(file, `${JSON.stringify({ source: 'simulators RiverModel {baseStage 0.8, peakStage 5.3, periodHours 24, noiseM 0.005}, seed 7', start: new Date(HYDROGRAPH_START).toISOString(), stepMs: HYDROGRAPH_STEP_MS, stages })}\n`);
  process.stdout.write(`wrote ${stages.length} samples to ${file.pathname}\n`);
}
