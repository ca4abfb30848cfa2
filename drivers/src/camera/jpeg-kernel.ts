/**
 * The CPU-heavy part of a snapshot check: a full jpeg-js decode and an optional thumbnail
 * (area-average downscale, re-encode at falling quality until the base64 fits). It is one
 * self-contained function, with no imports and no closures, because JpegWorker runs its source
 * text (Function.prototype.toString) inside a worker thread: a 1080p decode takes 100-200 ms
 * of pure JavaScript, which on the main thread would stall Modbus polling. Keep it free of
 * nested named functions too (see below). jpeg-decoder.test.ts runs it in a worker.
 */

export interface JpegJs {
  decode(
    data: Uint8Array,
    opts: { useTArray: true; formatAsRGBA: true; tolerantDecoding: boolean; maxResolutionInMP: number; maxMemoryUsageInMB: number },
  ): { width: number; height: number; data: Uint8Array };
  encode(img: { width: number; height: number; data: Uint8Array }, quality: number): { data: Uint8Array };
}

export interface KernelRequest {
  jpeg: Uint8Array;
  maxMegapixels: number;
  maxMemoryMB: number;
  thumbnail?: { maxWidth: number; maxBase64Bytes: number };
}

export type KernelResult =
  | { ok: true; width: number; height: number; thumbnail?: { width: number; height: number; base64: string } }
  | { ok: false; message: string };

export function jpegKernel(jpeg: JpegJs, req: KernelRequest): KernelResult {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(req.jpeg, { useTArray: true, formatAsRGBA: true, tolerantDecoding: false, maxResolutionInMP: req.maxMegapixels, maxMemoryUsageInMB: req.maxMemoryMB });
  } catch (err) {
    return { ok: false, message: String((err as Error)?.message ?? err).slice(0, 120) };
  }
  if (!req.thumbnail || img.width < 1 || img.height < 1) return { ok: true, width: img.width, height: img.height };
  let width = Math.max(1, Math.min(Math.round(req.thumbnail.maxWidth), img.width));
  for (let attempt = 0; attempt < 6 && width >= 16; attempt++) {
    // Area-average downscale to `width`, inline: a nested function would get a bundler name
    // helper (esbuild keepNames) that does not exist inside the worker.
    let small = img;
    if (img.width > width) {
      const w = width;
      const h = Math.max(1, Math.round((img.height * w) / img.width));
      const out = new Uint8Array(w * h * 4);
      const sx = img.width / w;
      const sy = img.height / h;
      for (let y = 0; y < h; y++) {
        const y0 = Math.floor(y * sy);
        const y1 = Math.min(img.height, Math.max(y0 + 1, Math.floor((y + 1) * sy)));
        for (let x = 0; x < w; x++) {
          const x0 = Math.floor(x * sx);
          const x1 = Math.min(img.width, Math.max(x0 + 1, Math.floor((x + 1) * sx)));
          let r = 0;
          let g = 0;
          let b = 0;
          for (let yy = y0; yy < y1; yy++) {
            for (let xx = x0, i = (yy * img.width + x0) * 4; xx < x1; xx++, i += 4) {
              r += img.data[i] as number;
              g += img.data[i + 1] as number;
              b += img.data[i + 2] as number;
            }
          }
          const n = (y1 - y0) * (x1 - x0);
          const o = (y * w + x) * 4;
          out[o] = r / n;
          out[o + 1] = g / n;
          out[o + 2] = b / n;
          out[o + 3] = 255;
        }
      }
      small = { width: w, height: h, data: out };
    }
    for (const quality of [70, 50, 35, 20]) {
      const encoded = jpeg.encode(small, quality).data;
      let bin = '';
      for (let i = 0; i < encoded.length; i += 0x8000) bin += String.fromCharCode.apply(null, Array.from(encoded.subarray(i, i + 0x8000)));
      const base64 = btoa(bin);
      if (base64.length <= req.thumbnail.maxBase64Bytes) return { ok: true, width: img.width, height: img.height, thumbnail: { width: small.width, height: small.height, base64 } };
    }
    width = Math.floor(width * 0.7);
  }
  return { ok: true, width: img.width, height: img.height };
}
