import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { FrameSource } from './frame-source.js';
import { encodeJpeg, quantTable, rgbToYcc } from './jpeg-encoder.js';

function solid(width: number, height: number, rgb: [number, number, number]) {
  const [y, cb, cr] = rgbToYcc(...rgb);
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  return { width, height, y: new Uint8Array(width * height).fill(y), cb: new Uint8Array(cw * ch).fill(cb), cr: new Uint8Array(cw * ch).fill(cr) };
}

describe('JPEG encoder', () => {
  it.each([
    [16, 16],
    [40, 24],
    [64, 360],
  ])('encodes %ix%i that an independent decoder (jpeg-js) reads back with the right colour', (w, h) => {
    const out = encodeJpeg(solid(w, h, [200, 40, 90]), 90);
    const img = jpeg.decode(out.jpeg, { useTArray: true });
    expect([img.width, img.height]).toEqual([w, h]);
    const mid = ((h >> 1) * w + (w >> 1)) * 4;
    expect(Math.abs((img.data[mid] ?? 0) - 200)).toBeLessThan(8);
    expect(Math.abs((img.data[mid + 1] ?? 0) - 40)).toBeLessThan(8);
    expect(Math.abs((img.data[mid + 2] ?? 0) - 90)).toBeLessThan(8);
  });

  it('writes 4:2:0 sampling in SOF0 and the scan and tables RTP/JPEG needs', () => {
    const out = encodeJpeg(solid(32, 16, [10, 10, 10]), 50);
    const sof = out.jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    expect(out.jpeg[sof + 11]).toBe(0x22); // Y: H=2, V=2
    expect(out.jpeg[sof + 14]).toBe(0x11);
    expect(out.qtables).toHaveLength(128);
    expect(out.jpeg.indexOf(out.scan)).toBeGreaterThan(sof);
    expect(out.jpeg.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    expect(quantTable([...new Array<number>(64).fill(16)], 50)[0]).toBe(16);
  });

  it('renders frames that differ from one frame number to the next', () => {
    let now = 0;
    const src = new FrameSource({ width: 64, height: 48, fps: 10, quality: 60, hue: 120, now: () => now });
    const a = src.frame();
    now = 99;
    expect(src.frame()).toBe(a);
    now = 100;
    const b = src.frame();
    expect(b.index).toBe(a.index + 1);
    expect(b.jpeg.equals(a.jpeg)).toBe(false);
    expect(jpeg.decode(b.jpeg).width).toBe(64);
  });
});
