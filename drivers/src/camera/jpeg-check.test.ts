import jpeg from 'jpeg-js';
import { afterAll, describe, expect, it } from 'vitest';
import { CameraError } from './camera-error.js';
import { inspectJpeg, jpegHash, SnapshotFreshness } from './jpeg-check.js';
import { InlineJpegDecoder, JpegWorker, type JpegDecoder } from './jpeg-decoder.js';

function picture(width: number, height: number, seed = 1): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i] = (x * 3 + seed * 40) & 255;
      data[i + 1] = (y * 5) & 255;
      data[i + 2] = ((x + y) / 4 + seed) & 255;
      data[i + 3] = 255;
    }
  }
  return jpeg.encode({ width, height, data }, 80).data;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CameraError);
    return (err as CameraError).code + ': ' + (err as CameraError).message;
  }
  return undefined;
}

/** The JPEG with the segment of the given marker removed. */
function withoutSegment(buf: Buffer, marker: number): Buffer {
  let pos = 2;
  while (pos < buf.length) {
    const m = buf[pos + 1]!;
    const len = buf.readUInt16BE(pos + 2);
    if (m === marker) return Buffer.concat([buf.subarray(0, pos), buf.subarray(pos + 2 + len)]);
    if (m === 0xda) break;
    pos += 2 + len;
  }
  throw new Error('marker not found');
}

describe('inspectJpeg', () => {
  it('reads the size from the SOF0 frame header', () => {
    expect(inspectJpeg(picture(96, 64))).toMatchObject({ width: 96, height: 64, progressive: false, components: 3 });
  });

  it('rejects what is not a whole JPEG', () => {
    const good = picture(32, 32);
    expect(code(() => inspectJpeg(Buffer.from('<html>not found</html>')))).toMatch(/EDGE_CAMERA_JPEG: .*SOI/);
    expect(code(() => inspectJpeg(good.subarray(0, good.length - 200)))).toMatch(/EOI/);
    expect(code(() => inspectJpeg(withoutSegment(good, 0xc0)))).toMatch(/scan before a frame header/);
    const zero = Buffer.from(good);
    const sof = zero.indexOf(Buffer.from([0xff, 0xc0]));
    zero.writeUInt16BE(0, sof + 5);
    expect(code(() => inspectJpeg(zero))).toMatch(/zero width or height/);
    const overrun = Buffer.from(good);
    overrun.writeUInt16BE(0xfff0, 4);
    expect(code(() => inspectJpeg(overrun))).toMatch(/overruns/);
  });

  it('tolerates a little padding after EOI', () => {
    expect(inspectJpeg(Buffer.concat([picture(16, 16), Buffer.alloc(4)])).width).toBe(16);
  });
});

describe('snapshot freshness', () => {
  it('is stale once N fetches in a row are byte-identical, fresh again on change', () => {
    const f = new SnapshotFreshness(3);
    const a = jpegHash(picture(16, 16, 1));
    const b = jpegHash(picture(16, 16, 2));
    expect(f.observe(a)).toEqual({ changed: true, identicalRun: 1, stale: false });
    expect(f.observe(a).stale).toBe(false);
    expect(f.observe(a)).toEqual({ changed: false, identicalRun: 3, stale: true });
    expect(f.observe(b)).toEqual({ changed: true, identicalRun: 1, stale: false });
  });
});

const worker = new JpegWorker({ timeoutMs: 5000 });
afterAll(() => worker.close());

describe.each([
  ['inline', new InlineJpegDecoder() as JpegDecoder],
  ['worker thread', worker as JpegDecoder],
])('%s decoder', (_name, decoder) => {
  it('decodes a JPEG and makes a thumbnail within the byte cap', async () => {
    const r = await decoder.analyse(picture(640, 360), { maxMegapixels: 2, thumbnail: { maxWidth: 160, maxBase64Bytes: 4096 } });
    expect(r).toMatchObject({ width: 640, height: 360 });
    expect(r.thumbnail!.width).toBeLessThanOrEqual(160);
    expect(r.thumbnail!.base64.length).toBeLessThanOrEqual(4096);
    const thumb = jpeg.decode(Buffer.from(r.thumbnail!.base64, 'base64'));
    expect(thumb.width).toBe(r.thumbnail!.width);
    expect(thumb.height).toBe(Math.round((360 * thumb.width) / 640));
  });

  it('rejects a picture over the megapixel cap and one that does not decode', async () => {
    await expect(decoder.analyse(picture(640, 360), { maxMegapixels: 0.1 })).rejects.toMatchObject({ code: 'EDGE_CAMERA_JPEG' });
    await expect(decoder.analyse(withoutSegment(picture(64, 64), 0xc4), { maxMegapixels: 1 })).rejects.toMatchObject({ code: 'EDGE_CAMERA_JPEG' });
  });
});
