import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import jpeg from 'jpeg-js';
import { CameraError } from './camera-error.js';
import { inspectJpeg } from './jpeg-check.js';
import { jpegKernel, type JpegJs, type KernelRequest, type KernelResult } from './jpeg-kernel.js';

export interface SnapshotAnalysis {
  width: number;
  height: number;
  progressive: boolean;
  /** Base64 JPEG, when a thumbnail was asked for and fits. */
  thumbnail?: { width: number; height: number; base64: string };
}

export interface AnalyseOptions {
  maxMegapixels: number;
  maxMemoryMB?: number;
  thumbnail?: { maxWidth: number; maxBase64Bytes: number };
}

/** Checks that a snapshot is a JPEG that decodes (markers, dimensions, a full decode) and optionally makes a thumbnail. */
export interface JpegDecoder {
  /** Rejects with EDGE_CAMERA_JPEG when the picture is not a JPEG that decodes within the caps. */
  analyse(jpeg: Uint8Array, opts: AnalyseOptions): Promise<SnapshotAnalysis>;
  close(): Promise<void>;
}

/** Structural checks shared by both decoders: cheap, done on the calling thread. */
function precheck(buf: Uint8Array, opts: AnalyseOptions): { info: ReturnType<typeof inspectJpeg>; req: KernelRequest } {
  const info = inspectJpeg(buf);
  if ((info.width * info.height) / 1e6 > opts.maxMegapixels) {
    throw new CameraError('EDGE_CAMERA_JPEG', `snapshot: ${info.width}x${info.height} is more than ${opts.maxMegapixels} megapixels`);
  }
  return { info, req: { jpeg: buf, maxMegapixels: opts.maxMegapixels, maxMemoryMB: opts.maxMemoryMB ?? 256, ...(opts.thumbnail && { thumbnail: opts.thumbnail }) } };
}

function finish(info: ReturnType<typeof inspectJpeg>, r: KernelResult): SnapshotAnalysis {
  if (!r.ok) throw new CameraError('EDGE_CAMERA_JPEG', `snapshot: does not decode (${r.message})`);
  if (r.width !== info.width || r.height !== info.height) throw new CameraError('EDGE_CAMERA_JPEG', `snapshot: decoded ${r.width}x${r.height}, header says ${info.width}x${info.height}`);
  return { width: r.width, height: r.height, progressive: info.progressive, ...(r.thumbnail && { thumbnail: r.thumbnail }) };
}

/** Decodes on the calling thread: for tests and small pictures. */
export class InlineJpegDecoder implements JpegDecoder {
  async analyse(buf: Uint8Array, opts: AnalyseOptions): Promise<SnapshotAnalysis> {
    const { info, req } = precheck(buf, opts);
    return finish(info, jpegKernel(jpeg as unknown as JpegJs, req));
  }

  async close(): Promise<void> {}
}

export interface JpegWorkerOptions {
  /** A decode taking longer than this kills and replaces the worker; default 10 s. */
  timeoutMs?: number;
}

interface Pending {
  resolve: (r: KernelResult) => void;
  reject: (e: CameraError) => void;
  timer: NodeJS.Timeout;
}

/**
 * Decodes in one worker thread so the main thread (Modbus polling, MQTT) never waits on a
 * decode. The worker runs jpegKernel's source with jpeg-js loaded by absolute path; it is
 * started on first use, replaced if it dies or a decode overruns, and stopped by close().
 */
export class JpegWorker implements JpegDecoder {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly timeoutMs: number;

  constructor(opts: JpegWorkerOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async analyse(buf: Uint8Array, opts: AnalyseOptions): Promise<SnapshotAnalysis> {
    const { info, req } = precheck(buf, opts);
    const worker = this.ensure();
    const id = this.nextId++;
    const result = await new Promise<KernelResult>((resolve, reject) => {
      const timer = setTimeout(() => this.crash(new CameraError('EDGE_CAMERA_JPEG', `snapshot: decode took longer than ${this.timeoutMs} ms`)), this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const copy = Uint8Array.from(req.jpeg);
      worker.postMessage({ id, req: { ...req, jpeg: copy } }, [copy.buffer]);
    });
    return finish(info, result);
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.crash(new CameraError('EDGE_CAMERA_JPEG', 'snapshot: decoder closed'));
    if (w) await w.terminate();
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const jpegJsPath = createRequire(import.meta.url).resolve('jpeg-js');
    const source = [
      "const { parentPort, workerData } = require('node:worker_threads');",
      'const jpeg = require(workerData.jpegJsPath);',
      `const kernel = (${jpegKernel.toString()});`,
      'parentPort.on("message", (m) => {',
      '  let r;',
      '  try { r = kernel(jpeg, m.req); } catch (e) { r = { ok: false, message: String((e && e.message) || e) }; }',
      '  parentPort.postMessage({ id: m.id, r });',
      '});',
    ].join('\n');
    const worker = new Worker(source, { eval: true, workerData: { jpegJsPath }, resourceLimits: { maxOldGenerationSizeMb: 512 } });
    worker.unref();
    worker.on('message', (m: { id: number; r: KernelResult }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      p.resolve(m.r);
    });
    worker.on('error', (err) => this.crash(new CameraError('EDGE_CAMERA_JPEG', `snapshot: decoder failed (${err.message.slice(0, 80)})`, { cause: err })));
    worker.on('exit', () => {
      if (this.worker === worker) this.crash(new CameraError('EDGE_CAMERA_JPEG', 'snapshot: decoder exited'));
    });
    this.worker = worker;
    return worker;
  }

  /** Fails everything pending and drops the worker (a new one starts on the next request). */
  private crash(err: CameraError): void {
    const w = this.worker;
    this.worker = undefined;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    if (w) void w.terminate();
  }
}
