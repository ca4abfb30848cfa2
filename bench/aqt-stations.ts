import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { GatewayConfigInput } from '@cityedge/contract';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import type { Scope } from './scope.js';

/** AQT530 stations (10 points each) simulated in this process, `perEndpoint` on each of `endpoints` Modbus TCP servers. */
export async function startStations(scope: Scope, opts: { endpoints: number; perEndpoint: number; logger: Logger }): Promise<Simulation> {
  const sim = await startSimulation(
    {
      endpoints: Array.from({ length: opts.endpoints }, (_, e) => ({
        id: `ep-${e}`,
        transport: 'tcp' as const,
        devices: Array.from({ length: opts.perEndpoint }, (_, d) => ({ id: `aq-${e * opts.perEndpoint + d}`, model: 'vaisala-aqt530' as const, unitId: d + 1 })),
      })),
    },
    { logger: opts.logger },
  );
  scope.defer(() => sim.stop());
  return sim;
}

/** Writes the configuration of an agent that polls every station, one line per endpoint; returns its path. */
export function writeStationsConfig(dir: string, sim: Simulation, opts: { pollIntervalMs: number; httpPort: number; forwarding: GatewayConfigInput['forwarding'] }): string {
  const config: GatewayConfigInput = {
    gateway: { id: 'gw-bench' },
    lines: sim.endpoints.map((ep, e) => ({
      id: `line-${e}`,
      type: 'tcp' as const,
      host: '127.0.0.1',
      port: ep.port as number,
      devices: ep.devices.map((d) => ({ id: d.id, profile: 'vaisala-aqt530', unitId: d.unitId, pollIntervalMs: opts.pollIntervalMs })),
    })),
    forwarding: opts.forwarding,
    http: { enabled: true, host: '127.0.0.1', port: opts.httpPort },
  };
  const path = join(dir, 'agent.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}
