import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CamerasConfig, type GatewayEvent } from '@cityedge/contract';
import { InlineJpegDecoder, OnvifCameraClient, type CameraClient } from '@cityedge/drivers/camera';
import { startCameraSimulation, type CameraSimulation } from '@cityedge/simulators';
import { CameraProber } from './camera-prober.js';

const N = 50;
const LIMIT = 8;
let sim: CameraSimulation;

beforeAll(async () => {
  sim = await startCameraSimulation({
    cameras: Array.from({ length: N }, (_, i) => ({ id: `cam-${String(i).padStart(3, '0')}`, username: 'admin', password: 'pw', width: 64, height: 48, discovery: false })),
  });
});

afterAll(async () => {
  await sim?.stop();
});

it(`probes ${N} cameras with at most ${LIMIT} in flight, every one of them online`, async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const events: GatewayEvent[] = [];
  const config = CamerasConfig.parse({
    probeIntervalMs: 3_600_000,
    concurrency: LIMIT,
    callTimeoutMs: 2000,
    credentials: { default: { username: 'admin', password: 'pw' } },
    devices: sim.cameras.map((c) => ({ id: c.id, host: c.host, port: c.httpPort })),
  });
  const prober = new CameraProber({
    config,
    gatewayId: 'gw-load',
    logger: pino({ level: 'silent' }),
    appendEvent: (e) => events.push(e),
    decoder: new InlineJpegDecoder(),
    // The real client, counting sessions from their first request to close().
    clientFactory: (camera, cred) => {
      const real = new OnvifCameraClient({
        endpoint: { host: camera.host ?? '', port: camera.port, path: camera.path, ...(cred && { username: cred.username, password: cred.password }) },
        limits: { timeoutMs: config.callTimeoutMs, maxResponseBytes: config.maxResponseBytes, maxSnapshotBytes: config.snapshot.maxBytes },
      });
      let open = false;
      const client: CameraClient = {
        getSystemDateAndTime: () => {
          if (!open) {
            open = true;
            maxInFlight = Math.max(maxInFlight, ++inFlight);
          }
          return real.getSystemDateAndTime();
        },
        getDeviceInformation: () => real.getDeviceInformation(),
        getProfiles: () => real.getProfiles(),
        getStreamUri: (t) => real.getStreamUri(t),
        getSnapshotUri: (t) => real.getSnapshotUri(t),
        fetchSnapshot: (u) => real.fetchSnapshot(u),
        probeRtsp: (u, m) => real.probeRtsp(u, m),
        close: () => {
          if (open) inFlight--;
          open = false;
          real.close();
        },
      };
      return client;
    },
  });
  prober.start();
  try {
    await prober.probeAll();
    expect(maxInFlight).toBe(LIMIT);
    expect(prober.stats()).toMatchObject({ cameras: N, probes: N, peakRunning: LIMIT, byState: { online: N } });
    expect(events.filter((e) => e.type === 'camera.online')).toHaveLength(N);
    expect(events.filter((e) => e.type === 'camera.inventory')).toHaveLength(N);
  } finally {
    await prober.stop();
  }
});
