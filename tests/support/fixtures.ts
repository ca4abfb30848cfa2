import { formatProblems, type GatewayConfigInput, type Reading } from '@cityedge/contract';
import { Agent, resolveDocument } from '@cityedge/edge-agent';
import type { CameraSimulation } from '@cityedge/simulators';
import { quiet, tempDir } from '@cityedge/test-support';

export { quiet, tempDir, waitUntil, eventually } from '@cityedge/test-support';

/** Validates a configuration exactly as the agent's CLI does and builds an agent in process. */
export async function buildAgent(config: GatewayConfigInput, stateDir = tempDir('cityedge-e2e-'), extra: { random?: () => number } = {}): Promise<Agent> {
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

/** The `camera.inventory` event data a gateway reports for a simulated camera. */
export function reportedInventory(info: ReturnType<ReturnType<CameraSimulation['camera']>['info']>) {
  return {
    manufacturer: info.manufacturer,
    model: info.model,
    firmware: info.firmware,
    serial: info.serial,
    profiles: info.profiles.map((p) => ({ token: p.token, name: p.name, encoding: p.encoding, width: p.width, height: p.height, fps: p.fps, streamUri: p.rtspUrl })),
    snapshotUri: info.snapshotUrl,
  };
}
