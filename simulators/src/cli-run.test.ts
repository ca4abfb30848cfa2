import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAMERA_FAULT_MODES } from './camera/camera-spec.js';
import { freePorts } from './camera/test-helpers.js';
import { runCli } from './cli-run.js';
import { MODEL_NAMES, MODELS } from './devices/models.js';
import { FAULT_MODES } from './faults.js';
import type { Simulation } from './simulation.js';
import { RawClient, tcpRead } from './test-support/raw-client.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityedge-sim-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs the CLI; while it is up, `whileUp` talks to it, then it is stopped as by SIGINT. */
async function run(argv: string[], whileUp?: (sim: Simulation) => Promise<void>) {
  let out = '';
  let err = '';
  const stop = new AbortController();
  let failure: unknown;
  const code = await runCli([...argv, '--log-level', 'silent'], {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    signal: stop.signal,
    onReady: (sim) => {
      void (whileUp?.(sim) ?? Promise.resolve())
        .catch((e: unknown) => (failure = e))
        .finally(() => stop.abort());
    },
  });
  if (failure) throw failure;
  return { code, out, err };
}

describe('cityedge-sim CLI', () => {
  it('starts devices from flags, prints the bound endpoints and stops cleanly', async () => {
    const r = await run(
      ['--device', 'river=vegapuls-c21@tcp:0:unit=246', '--device', 'th=sht20@tcp:0:unit=1:temperature=30.5:humidity=54.6', '--device', 'lights=intesis-dali@rtu-over-tcp:0:channels=0,1', '--fault', 'river=no-reply'],
      async (sim) => {
        expect(sim.endpoints).toHaveLength(2);
        expect(sim.device('river').fault).toEqual({ mode: 'no-reply', probability: 1 });
        const c = await RawClient.connect(sim.endpoint('tcp-0').port ?? 0);
        expect(await tcpRead(c, 1, 4, 1, 2)).toEqual([305, 546]);
        c.close();
      },
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^tcp-0\ttcp\t127\.0\.0\.1:\d+\triver=vegapuls-c21@246 th=sht20@1$/m);
    expect(r.out).toMatch(/^rtu-over-tcp-0\trtu-over-tcp\t127\.0\.0\.1:\d+\tlights=intesis-dali@1$/m);
    expect(r.err).toContain('stopped');
  });

  it('reads a YAML config and applies --fault on top', async () => {
    const file = join(dir, 'ok.yaml');
    await writeFile(file, 'endpoints:\n  - id: aq\n    transport: tcp\n    devices:\n      - { id: aqt, model: vaisala-aqt530 }\n');
    const r = await run(['--config', file, '--fault', 'aqt=exception:4@0.5', '--time-scale', '60'], async (sim) => {
      expect(sim.timeScale).toBe(60);
      expect(sim.device('aqt').fault).toEqual({ mode: 'exception', code: 4, probability: 0.5 });
    });
    expect(r.code).toBe(0);
  });

  const bad: Array<[string, string[], RegExp]> = [
    ['an unknown flag', ['--bogus'], /Unknown option '--bogus'/],
    ['nothing to run', [], /nothing to simulate/],
    ['a malformed --device', ['--device', 'vegapuls-c21'], /--device "vegapuls-c21": expected \[id=\]model@transport/],
    ['an unknown model', ['--device', 'x=flow@tcp:0'], /--device "x=flow@tcp:0": model: expected one of/],
    ['a bad port', ['--device', 'sht20@tcp:http'], /--device "sht20@tcp:http": port: expected number, got string/],
    ['a bad option', ['--device', 'sht20@tcp:0:colour=red'], /--device "sht20@tcp:0:colour=red": options: unknown key "colour"/],
    ['a fault for no device', ['--device', 'sht20@tcp:0', '--camera', 'gate', '--fault', 'river=no-reply'], /--fault "river=no-reply": no device or camera "river"; devices: sht20; cameras: gate/],
    ['a malformed --camera', ['--camera', 'port=80'], /--camera "port=80": expected id\[:option=value/],
    ['an unknown camera option', ['--camera', 'gate:colour=red'], /--camera "gate:colour=red": unknown key "colour"/],
    ['a bad camera port', ['--camera', 'gate:rtspPort=99999'], /--camera "gate:rtspPort=99999": rtspPort: expected <= 65535/],
    ['a bad camera fault', ['--camera', 'gate', '--fault', 'gate=melting'], /--fault "gate=melting": mode: expected one of "wrong-password", /],
    ['a bad fault', ['--device', 'sht20@tcp:0', '--fault', 'sht20=slow'], /--fault "sht20=slow": delayMs: required/],
    ['a bad time scale', ['--device', 'sht20@tcp:0', '--time-scale', 'fast'], /--time-scale "fast": not a valid value/],
    ['a missing config', ['--config', '/nonexistent/sims.yaml'], /--config "\/nonexistent\/sims.yaml": cannot read \(ENOENT\)/],
    ['a malformed --firmata-board', ['--firmata-board', 'uno'], /--firmata-board "uno": expected ID@PATH/],
    ['a bad --firmata-board port', ['--firmata-board', 'uno@tcp:x'], /--firmata-board "uno@tcp:x": expected tcp:PORT/],
    ['a bad --firmata-board id', ['--firmata-board=-x@tcp:0'], /--firmata-board "-x@tcp:0": id: expected an id/],
  ];
  for (const [what, argv, message] of bad) {
    it(`exits 2 with one clear line for ${what}`, async () => {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).not.toMatch(/\n\s+at /);
    });
  }

  it('names the config file and path for a bad config', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'endpoints:\n  - id: aq\n    transport: udp\n    devices: [{ id: a, model: sht20 }]\n');
    const r = await run(['--config', file]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`cityedge-sim: ${file}: endpoints[0].transport: expected one of "tcp", "rtu-over-tcp", "serial"\n`);
    await writeFile(file, 'endpoints: [\n');
    const y = await run(['--config', file]);
    expect(y.code).toBe(2);
    expect(y.err.trim().split('\n')).toHaveLength(1);
  });

  it('starts an emulated Firmata board from the YAML spec that answers on its port, and names a bad pin with its path', async () => {
    const file = join(dir, 'board.yaml');
    await writeFile(file, 'firmataBoards:\n  - id: uno\n    port: 0\n    digital: { D2: true }\n    analog: { A0: 2.5 }\n    rainGauge: { pin: D3, periodMs: 2000 }\n');
    const r = await run(['--config', file], async (sim) => {
      const info = sim.firmataBoards[0]!;
      expect(info).toMatchObject({ id: 'uno', transport: 'firmata-tcp', host: '127.0.0.1' });
      expect(sim.firmataBoard('uno').level('D13')).toMatch(/input|low|high/);
      // The firmware answers REPORT_VERSION (0xF9) with its protocol version once it has booted.
      const socket = connect(info.port!, '127.0.0.1');
      let got = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
      const deadline = Date.now() + 60_000;
      while (!got.includes(Buffer.from([0xf9, 2, 4])) && Date.now() < deadline) {
        socket.write(Buffer.from([0xf9]));
        await new Promise((res) => setTimeout(res, 500));
      }
      socket.destroy();
      expect(got.includes(Buffer.from([0xf9, 2, 4]))).toBe(true);
    });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^uno\tfirmata\t127\.0\.0\.1:\d+\tStandardFirmata/m);
    await writeFile(file, 'firmataBoards:\n  - id: uno\n    port: 0\n    analog: { D3: 1 }\n');
    const bad = await run(['--config', file]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/firmataBoards\[0\]\.analog\.D3: expected an analog input A0\.\.A5/);
  }, 90_000);

  it('exits 1 with one line when a port is taken', async () => {
    let port = 0;
    await run(['--device', 'sht20@tcp:0'], async (sim) => {
      port = sim.endpoint('tcp-0').port ?? 0;
      const r = await run(['--device', `sht20@tcp:${port}`]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^cityedge-sim: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE.*\n$/);
    });
  });

  it('prints complete usage for --help: transports, models with their options, faults, camera options and camera faults', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: cityedge-sim');
    for (const flag of ['--config', '--device', '--camera', '--fault', '--host', '--time-scale', '--seed', '--start', '--log-level', '--help']) expect(r.out).toContain(flag);
    for (const transport of ['tcp:PORT', 'rtu-over-tcp:PORT', 'serial:PATH']) expect(r.out).toContain(transport);
    const words = new Set(r.out.split(/[\s,:=[\]]+/));
    for (const model of MODEL_NAMES) {
      expect(words).toContain(model);
      for (const option of Object.keys((MODELS[model].options as unknown as { shape: object }).shape)) expect(r.out).toMatch(new RegExp(`${model}.*(\\n {19}.*)*\\b${option}\\b`));
    }
    for (const mode of FAULT_MODES) expect(words).toContain(mode);
    for (const option of ['httpPort', 'rtspPort', 'discoveryPort', 'username', 'password', 'rtspAuth', 'snapshotAuth', 'width', 'height', 'fps']) expect(words).toContain(option);
    for (const mode of CAMERA_FAULT_MODES) expect(words).toContain(mode);
    expect(Math.max(...r.out.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
  });

  it('starts cameras from --camera on the ports given, with faults from --fault, and prints where they listen', async () => {
    const [http, rtsp] = (await freePorts(2)) as [number, number];
    const r = await run(['--camera', `gate:httpPort=${http}:rtspPort=${rtsp}:password=s3cret:width=160:height=96`, '--fault', 'gate=rtsp-down', '--fault', 'gate=clock-skew:60'], async (sim) => {
      const info = sim.cameras?.camera('gate').info();
      expect(info).toMatchObject({ httpPort: http, rtspPort: rtsp, password: 's3cret' });
      expect(info?.profiles[0]).toMatchObject({ width: 160, height: 96 });
      expect(info?.faults.map((f) => f.mode).sort()).toEqual(['clock-skew', 'rtsp-down']);
    });
    expect(r.code).toBe(0);
    expect(r.out).toContain(`gate\tcamera\thttp://127.0.0.1:${http}/onvif/device_service\trtsp://127.0.0.1:${rtsp}/stream1\thttp://127.0.0.1:${http}/onvif/snapshot?profile=Profile_1\t`);
    expect(r.out).toMatch(/\tfaults (rtsp-down,clock-skew|clock-skew,rtsp-down)\n/);
  });
});
