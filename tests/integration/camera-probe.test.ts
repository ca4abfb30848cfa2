import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestSession, probeRtsp } from '@cityedge/drivers/camera';
import { startCameraSimulation, type CameraSimulation } from '@cityedge/simulators';

/**
 * Our RTSP probe (DESCRIBE + SETUP/PLAY to the first frame over RTP) against ffprobe, an
 * independent RTSP/SDP/RFC 2435 implementation, on the same simulated streams: both must see the
 * same codec and picture size. Fails (never skips) when ffprobe is not installed.
 */
function ffprobe(url: string): Promise<{ codec_name: string; width: number; height: number }> {
  return new Promise((resolve, reject) => {
    execFile('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', url], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`ffprobe failed: ${String(stderr) || err.message}`));
      const stream = (JSON.parse(String(stdout)) as { streams: { codec_name: string; width: number; height: number }[] }).streams[0];
      if (!stream) return reject(new Error('ffprobe found no video stream'));
      resolve(stream);
    });
  });
}

describe('RTSP probe agrees with ffprobe', () => {
  let sim: CameraSimulation;

  beforeAll(async () => {
    sim = await startCameraSimulation({ cameras: [{ id: 'cam', username: 'admin', password: 'pr0be', width: 352, height: 288, fps: 10, discovery: false }] });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('main and sub stream: same codec and size, first frame received over RTP', async () => {
    for (const profile of sim.camera('cam').info().profiles) {
      const ours = await probeRtsp(profile.rtspUrl, { mode: 'frame', timeoutMs: 5000, maxResponseBytes: 65_536, auth: new DigestSession('admin', 'pr0be') });
      const theirs = await ffprobe(profile.rtspUrl.replace('rtsp://', 'rtsp://admin:pr0be@'));
      expect(ours.frameError).toBeUndefined();
      expect(theirs.codec_name).toBe('mjpeg');
      expect(ours.codec).toBe('JPEG');
      expect({ width: ours.width, height: ours.height }).toEqual({ width: theirs.width, height: theirs.height });
      expect({ width: ours.frame?.width, height: ours.frame?.height }).toEqual({ width: theirs.width, height: theirs.height });
    }
  });
});
