import { createHash } from 'node:crypto';
import { CameraError } from './camera-error.js';

export interface JpegInfo {
  width: number;
  height: number;
  /** SOF2: progressive DCT. */
  progressive: boolean;
  components: number;
}

const bad = (message: string, cause?: unknown) => new CameraError('EDGE_CAMERA_JPEG', `snapshot: ${message}`, cause === undefined ? {} : { cause });

/**
 * Structural check without decoding: SOI first, a frame header (SOF0/1/2) with non-zero
 * dimensions before the first scan, and EOI at the end (a few bytes of padding after it are
 * tolerated, as some cameras send them). Throws EDGE_CAMERA_JPEG.
 */
export function inspectJpeg(buf: Uint8Array): JpegInfo {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) throw bad('no SOI marker: not a JPEG');
  let end = buf.length;
  while (end > 2 && buf.length - end < 16 && buf[end - 1] !== 0xd9) end--;
  if (buf[end - 1] !== 0xd9 || buf[end - 2] !== 0xff) throw bad('no EOI marker: truncated JPEG');
  let pos = 2;
  let info: JpegInfo | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    // Skip fill bytes (0xFF repeated) before a marker.
    while (pos < end && buf[pos] === 0xff && buf[pos + 1] === 0xff) pos++;
    if (pos + 4 > end || buf[pos] !== 0xff) throw bad('segment structure broken');
    const marker = buf[pos + 1] as number;
    if (marker === 0xd9) throw bad('EOI before any scan');
    if (marker >= 0xd0 && marker <= 0xd7) throw bad('restart marker outside a scan');
    const length = ((buf[pos + 2] as number) << 8) | (buf[pos + 3] as number);
    if (length < 2 || pos + 2 + length > end) throw bad(`segment 0x${marker.toString(16)} overruns the data`);
    if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      if (length < 8) throw bad('frame header too short');
      const height = ((buf[pos + 5] as number) << 8) | (buf[pos + 6] as number);
      const width = ((buf[pos + 7] as number) << 8) | (buf[pos + 8] as number);
      const components = buf[pos + 9] as number;
      if (width === 0 || height === 0) throw bad('zero width or height');
      if (components !== 1 && components !== 3 && components !== 4) throw bad(`${components} colour components`);
      info = { width, height, progressive: marker === 0xc2, components };
    } else if (marker >= 0xc3 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      throw bad(`unsupported coding (SOF${marker - 0xc0})`);
    } else if (marker === 0xda) {
      if (!info) throw bad('scan before a frame header');
      return info;
    }
    pos += 2 + length;
  }
  throw bad('too many segments');
}

/** SHA-256 of the bytes, hex. */
export function jpegHash(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

/**
 * Freshness of one camera's snapshots: a live camera's JPEGs differ from fetch to fetch (sensor
 * noise, the clock overlay), a frozen encoder sends the same bytes. Stale once `staleAfter`
 * fetches in a row are byte-identical and they span at least `minSpanMs`: fetches closer
 * together than the camera's frame interval legitimately return the same frame.
 */
export class SnapshotFreshness {
  private lastHash: string | undefined;
  private run = 0;
  private runStart = 0;

  constructor(
    private readonly staleAfter: number,
    private readonly minSpanMs = 0,
  ) {}

  /** Records a fetch at `now` (ms); returns whether it changed since the previous one and whether the picture is stale. */
  observe(hash: string, now = 0): { changed: boolean; identicalRun: number; stale: boolean } {
    const changed = hash !== this.lastHash;
    if (changed) {
      this.run = 1;
      this.runStart = now;
    } else this.run++;
    this.lastHash = hash;
    return { changed, identicalRun: this.run, stale: this.run >= this.staleAfter && now - this.runStart >= this.minSpanMs };
  }

  /** Forgets the history. */
  reset(): void {
    this.lastHash = undefined;
    this.run = 0;
  }
}
