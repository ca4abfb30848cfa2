import http from 'node:http';
import https from 'node:https';
import { CameraError, fromSocketError } from './camera-error.js';
import { parseChallenges, type DigestSession } from './digest-auth.js';

export interface HttpGetOptions {
  /** Deadline for the whole fetch (both legs of an authentication round trip). */
  timeoutMs: number;
  /** Largest body accepted. */
  maxBytes: number;
  /** Answers a 401 challenge (Digest or Basic). Without it a 401 is EDGE_CAMERA_UNAUTHORIZED. */
  auth?: DigestSession;
  /** Names what is fetched in error messages (never the URI, which may hold secrets). */
  what: string;
}

export interface HttpGetResult {
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

interface Leg {
  status: number;
  headers: http.IncomingHttpHeaders;
  challenges: string[];
  body: Buffer;
}

/**
 * GET with a hard deadline (connect to last byte), a body size cap enforced while reading, and
 * HTTP Digest/Basic on a 401. User info in the URI is ignored: credentials come from `auth`.
 * Rejects only with CameraError.
 */
export async function httpGet(uri: string, opts: HttpGetOptions): Promise<HttpGetResult> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (err) {
    throw new CameraError('EDGE_CAMERA_ARGUMENT', `${opts.what}: not a URI`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CameraError('EDGE_CAMERA_ARGUMENT', `${opts.what}: unsupported scheme ${url.protocol}`);
  url.username = '';
  url.password = '';
  const deadline = Date.now() + opts.timeoutMs;
  let leg = await request(url, undefined, deadline, opts);
  if (leg.status === 401 && opts.auth) {
    const authorization = opts.auth.authorize(parseChallenges(leg.challenges), 'GET', url.pathname + url.search);
    if (authorization) leg = await request(url, authorization, deadline, opts);
  }
  if (leg.status === 401) throw new CameraError('EDGE_CAMERA_UNAUTHORIZED', `${opts.what}: credentials rejected (HTTP 401)`, { status: 401 });
  if (leg.status < 200 || leg.status > 299) throw new CameraError('EDGE_CAMERA_STATUS', `${opts.what}: HTTP ${leg.status}`, { status: leg.status });
  const ct = leg.headers['content-type'];
  return { status: leg.status, contentType: typeof ct === 'string' ? ct : undefined, body: leg.body };
}

function request(url: URL, authorization: string | undefined, deadline: number, opts: HttpGetOptions): Promise<Leg> {
  return new Promise<Leg>((resolve, reject) => {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      reject(new CameraError('EDGE_CAMERA_TIMEOUT', `${opts.what}: no answer within ${opts.timeoutMs} ms`));
      return;
    }
    let settled = false;
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { method: 'GET', agent: false, headers: { Accept: 'image/jpeg, */*', ...(authorization && { Authorization: authorization }) } });
    const finish = (err: CameraError | undefined, leg?: Leg) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(leg as Leg);
    };
    const timer = setTimeout(() => finish(new CameraError('EDGE_CAMERA_TIMEOUT', `${opts.what}: no answer within ${opts.timeoutMs} ms`)), remaining);
    req.on('error', (err) => finish(fromSocketError(err, opts.what)));
    req.on('response', (res) => {
      res.on('error', (err) => finish(fromSocketError(err, opts.what)));
      const challenges: string[] = [];
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
        if ((res.rawHeaders[i] ?? '').toLowerCase() === 'www-authenticate') challenges.push(res.rawHeaders[i + 1] ?? '');
      }
      const status = res.statusCode ?? 0;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxBytes) {
        finish(new CameraError('EDGE_CAMERA_TOO_LARGE', `${opts.what}: ${declared} bytes, more than the ${opts.maxBytes} allowed`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > opts.maxBytes) finish(new CameraError('EDGE_CAMERA_TOO_LARGE', `${opts.what}: more than the ${opts.maxBytes} bytes allowed`));
        else chunks.push(chunk);
      });
      res.on('end', () => finish(undefined, { status, headers: res.headers, challenges, body: Buffer.concat(chunks, size) }));
      res.on('close', () => {
        if (!res.complete) finish(new CameraError('EDGE_CAMERA_CONNECT', `${opts.what}: connection closed mid-reply`));
      });
    });
    req.end();
  });
}
