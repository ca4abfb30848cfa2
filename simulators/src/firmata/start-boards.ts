import type { Logger } from 'pino';
import type { Clock } from '../sim-clock.js';
import { SimFirmataBoard } from './firmata-board.js';
import type { FirmataBoardSpec } from './firmata-board-spec.js';

/** Starts every board of a spec (inputs wired, rain gauge ticking); on a failure stops those already started. */
export async function startFirmataBoards(specs: readonly FirmataBoardSpec[], logger: Logger, clock: Clock): Promise<SimFirmataBoard[]> {
  const boards: SimFirmataBoard[] = [];
  try {
    for (const spec of specs) {
      const link = spec.path !== undefined ? ({ kind: 'serial', path: spec.path } as const) : ({ kind: 'tcp', host: spec.host, port: spec.port ?? 0 } as const);
      const board = new SimFirmataBoard({ id: spec.id, link, logger, now: () => clock.now() });
      for (const [pin, high] of Object.entries(spec.digital)) board.setDigital(pin, high);
      for (const [pin, volts] of Object.entries(spec.analog)) board.setAnalog(pin, volts);
      if (spec.rainGauge) {
        board.setDigital(spec.rainGauge.pin, true);
        void board.pulse(spec.rainGauge.pin, { count: Number.MAX_SAFE_INTEGER, widthMs: spec.rainGauge.widthMs, periodMs: spec.rainGauge.periodMs });
      }
      await board.start();
      boards.push(board);
    }
  } catch (err) {
    await Promise.all(boards.map((b) => b.stop()));
    throw err;
  }
  return boards;
}
