import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCameraSimulation, type CameraSimulation } from '@cityedge/simulators';

/**
 * ffmpeg, an independent RTSP/RTP/JPEG implementation, pulls frames from the simulated cameras.
 * Fails (never skips) when ffmpeg is not installed.
 */
function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, _stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stderr: String(stderr) });
    });
  });
}

function decode(path: string): { width: number; height: number } {
  const img = jpeg.decode(readFileSync(path), { useTArray: true });
  return { width: img.width, height: img.height };
}

describe('simulated camera streams read by ffmpeg', () => {
  let sim: CameraSimulation;
  let dir: string;

  beforeAll(async () => {
    const version = await run('ffmpeg', ['-version']);
    if (version.code !== 0) throw new Error('ffmpeg is required for this test (apt-get install ffmpeg)');
    dir = mkdtempSync(join(tmpdir(), 'cityedge-ffmpeg-'));
    sim = await startCameraSimulation({
      cameras: [
        { id: 'cam-1', username: 'admin', password: 's3cret', width: 320, height: 184, fps: 10 },
        { id: 'cam-2', username: 'admin', password: 's3cret', width: 160, height: 120, fps: 5, snapshotAuth: 'none' },
      ],
    });
  });
  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const withCreds = (url: string, password = 's3cret') => url.replace('rtsp://', `rtsp://admin:${password}@`);

  it('pulls a decodable frame over RTSP with RTP interleaved on TCP (Digest auth)', async () => {
    const out = join(dir, 'tcp.jpg');
    const r = await run('ffmpeg', ['-v', 'error', '-y', '-rtsp_transport', 'tcp', '-i', withCreds(sim.camera('cam-1').info().rtspUrl), '-frames:v', '1', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(decode(out)).toEqual({ width: 320, height: 184 });
  });

  it('pulls frames over RTP on UDP and from the sub stream', async () => {
    const out = join(dir, 'udp.jpg');
    const sub = sim.camera('cam-1').info().profiles[1]?.rtspUrl ?? '';
    const r = await run('ffmpeg', ['-v', 'error', '-y', '-rtsp_transport', 'udp', '-i', withCreds(sub), '-frames:v', '2', '-update', '1', out]);
    expect(r.code).toBe(0);
    expect(decode(out)).toEqual({ width: 160, height: 88 });
  });

  it('is refused with a wrong password (401)', async () => {
    const r = await run('ffmpeg', ['-v', 'error', '-y', '-rtsp_transport', 'tcp', '-i', withCreds(sim.camera('cam-1').info().rtspUrl, 'wrong'), '-frames:v', '1', join(dir, 'no.jpg')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/401|Unauthorized/);
  });

  it('decodes the snapshot and probes the stream codec and size', async () => {
    const info = sim.camera('cam-2').info();
    const snap = join(dir, 'snap.png');
    expect((await run('ffmpeg', ['-v', 'error', '-y', '-i', info.snapshotUrl, snap])).code).toBe(0);
    const probe = await new Promise<string>((resolve, reject) =>
      execFile('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', withCreds(info.rtspUrl)], { timeout: 20_000 }, (err, stdout) =>
        err ? reject(err) : resolve(stdout.trim()),
      ),
    );
    expect(probe).toBe('mjpeg,160,120');
  });
});
