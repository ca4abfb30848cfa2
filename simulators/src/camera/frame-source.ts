import { encodeJpeg, rgbToYcc, type EncodedJpeg, type PlanarFrame } from './jpeg-encoder.js';

export interface FrameSourceOptions {
  width: number;
  height: number;
  fps: number;
  quality: number;
  /** Hue 0..360 of the background, so cameras look different. */
  hue: number;
  /** Wall clock, epoch ms. */
  now: () => number;
}

export interface Frame extends EncodedJpeg {
  /** Frame number: floor(time * fps); it is what the picture encodes. */
  index: number;
}

function hueToRgb(hue: number): [number, number, number] {
  const h = (((hue % 360) + 360) % 360) / 60;
  const x = 1 - Math.abs((h % 2) - 1);
  const [r, g, b] = h < 1 ? [1, x, 0] : h < 2 ? [x, 1, 0] : h < 3 ? [0, 1, x] : h < 4 ? [0, x, 1] : h < 5 ? [x, 0, 1] : [1, 0, x];
  return [60 + 120 * r, 60 + 120 * g, 60 + 120 * b];
}

/**
 * Synthetic video: a coloured gradient, a white bar that moves one step per frame and, along the
 * top, the frame number in binary as black and white squares. Consecutive frames always differ,
 * so a frozen picture is detectable. Encoded lazily and cached per frame number.
 */
export class FrameSource {
  private cached: Frame | undefined;
  private readonly bg: [number, number, number];

  constructor(private readonly options: FrameSourceOptions) {
    this.bg = hueToRgb(options.hue);
  }

  get width(): number {
    return this.options.width;
  }

  get height(): number {
    return this.options.height;
  }

  /** The frame number showing now. */
  currentIndex(): number {
    return Math.floor((this.options.now() * this.options.fps) / 1000);
  }

  /** The frame with this number (default: the current one). */
  frame(index = this.currentIndex()): Frame {
    if (this.cached?.index === index) return this.cached;
    const planes = this.render(index);
    this.cached = { ...encodeJpeg(planes, this.options.quality), index };
    return this.cached;
  }

  private render(index: number): PlanarFrame {
    const { width, height } = this.options;
    const cw = Math.ceil(width / 2);
    // Fresh planes per frame, dropped once encoded: hundreds of idle cameras hold no pixels.
    const planes: PlanarFrame = { width, height, y: new Uint8Array(width * height), cb: new Uint8Array(cw * Math.ceil(height / 2)), cr: new Uint8Array(cw * Math.ceil(height / 2)) };
    const { y, cb, cr } = planes;
    const [, bgCb, bgCr] = rgbToYcc(...this.bg);
    const [bgY] = rgbToYcc(...this.bg);
    for (let row = 0; row < height; row++) {
      // A gradient in 16-row bands: uniform 8x8 blocks encode fast (hundreds of cameras share a CPU).
      const lum = Math.round(bgY * (0.55 + (0.45 * (row & ~15)) / height));
      y.fill(lum, row * width, (row + 1) * width);
    }
    cb.fill(bgCb);
    cr.fill(bgCr);
    // Moving bar: about 1/16 of the width, advancing about width/48 per frame, on 8-pixel steps.
    const barW = Math.max(8, Math.floor(width / 128) * 8);
    const step = Math.max(8, Math.floor(width / 384) * 8);
    const barX = (index * step) % width;
    for (let row = Math.floor(height / 64) * 8; row < height; row++) {
      for (let x = barX; x < Math.min(width, barX + barW); x++) y[row * width + x] = 235;
      for (let x = barX >> 1; x < Math.min(cw, (barX + barW) >> 1); x++) {
        cb[(row >> 1) * cw + x] = 128;
        cr[(row >> 1) * cw + x] = 128;
      }
    }
    // The low bits of the frame number (up to 24, as many as fit), most significant first, as squares along the top.
    const cell = Math.max(8, Math.floor(Math.min(width / 26, height / 10) / 8) * 8);
    const bits = Math.max(1, Math.min(24, Math.floor(width / cell) - 2));
    for (let i = 0; i < bits; i++) {
      const on = ((index >>> (bits - 1 - i)) & 1) === 1;
      const x0 = Math.min(width - cell, cell + i * cell);
      for (let row = 0; row < Math.min(height, cell); row++) y.fill(on ? 250 : 10, row * width + x0, row * width + x0 + cell);
    }
    return planes;
  }
}
