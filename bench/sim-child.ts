import { startSimulation, type Simulation } from '@cityedge/simulators';
import { reply, serveJsonChild } from './json-child.js';

export const SIM_FLAG = '--bench-sim';

export interface SimStarted {
  endpoints: Array<{ id: string; port: number; devices: Array<{ id: string; unitId: number }> }>;
  cameras: Array<{ id: string; httpPort: number }>;
  firmataBoards?: Array<{ id: string; port: number }>;
}

/**
 * The child side of `bench.js --bench-sim`: simulators (Modbus endpoints and/or ONVIF cameras)
 * in a process of their own, so their CPU (JPEG encoding, SOAP) does not run on the event loop
 * being measured. Request `{"start": <simulation spec>}`, answer `{"started": SimStarted}`;
 * `{"boardStats": id}` answers `{"boardStats": AvrUnoStats}` (a Firmata board's emulator speed).
 */
export function runSimChild(): void {
  let sim: Simulation | undefined;
  serveJsonChild(
    async (m) => {
      if ('boardStats' in m && sim) {
        reply({ boardStats: sim.firmataBoard(String(m.boardStats)).stats() });
        return;
      }
      if (!('start' in m)) throw new Error('expected {"start": spec}');
      sim = await startSimulation(m.start);
      const started: SimStarted = {
        endpoints: sim.endpoints.map((e) => ({ id: e.id, port: e.port ?? 0, devices: e.devices.map((d) => ({ id: d.id, unitId: d.unitId })) })),
        cameras: (sim.cameras?.cameras ?? []).map((c) => ({ id: c.id, httpPort: c.httpPort })),
        firmataBoards: sim.firmataBoards.map((b) => ({ id: b.id, port: b.port ?? 0 })),
      };
      reply({ started });
    },
    async () => {
      await sim?.stop();
    },
  );
}
