import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS, type RegistryErrorCode } from '../errors.js';
import { listen, openRegistry, type OpenedRegistry } from '../server.js';
import { SYSTEM } from '../service/context.js';
import { MAX_PARAM_LENGTH, MAX_URL_LENGTH } from './error-handler.js';

const ADMIN = 'admin-token-for-error-shape-tests-0123';

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One request written as bytes over a plain TCP socket (so nothing in a client library fixes it
 * up), the answer read until the server closes the connection.
 */
function raw(port: number, request: string | Buffer, o: { pauseAfterMs?: number } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(request);
    });
    socket.on('data', (c) => chunks.push(c));
    // The server may close while we still write (header overflow): the answer is what it sent.
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1]), headers, body: text.slice(split + 4) });
    });
    if (o.pauseAfterMs === undefined) socket.setTimeout(20_000, () => socket.destroy(new Error('no answer in 20 s')));
  });
}

const req = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
  [`${method} ${path} HTTP/1.1`, 'Host: registry.test', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), ...(body !== undefined ? [`Content-Length: ${Buffer.byteLength(body)}`] : []), '', body ?? ''].join('\r\n');

const json = { 'Content-Type': 'application/json' };
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

let dir: string;
let registry: OpenedRegistry;
let port: number;
let viewer: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'registry-errors-'));
  registry = await openRegistry({ dataDir: dir, brokerInfo: { url: 'mqtt://127.0.0.1:1883' }, logger: pino({ level: 'silent' }), adminToken: ADMIN, bodyLimit: 4096, requestTimeoutMs: 400 });
  port = Number(new URL(await listen(registry.app, { host: '127.0.0.1', port: 0 })).port);
  viewer = (await registry.services.tokens.create({ name: 'viewer', role: 'viewer' }, SYSTEM)).token;
});

afterAll(async () => {
  await registry?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('every error answer has the documented body, over a real socket', () => {
  const cases: Array<{ name: string; request: () => string; code: RegistryErrorCode; message?: RegExp; header?: [string, RegExp] }> = [
    { name: 'body that is not JSON', request: () => req('POST', '/v1/sites', { ...json, ...bearer(ADMIN) }, '{"id": "x",'), code: 'REG_MALFORMED_BODY' },
    { name: 'empty JSON body', request: () => req('POST', '/v1/sites', { ...json, ...bearer(ADMIN) }, ''), code: 'REG_MALFORMED_BODY' },
    { name: 'a missing field', request: () => req('POST', '/v1/sites', { ...json, ...bearer(ADMIN) }, '{"id":"s1"}'), code: 'REG_VALIDATION', message: /body\.name/ },
    { name: 'malformed percent-encoding in the path', request: () => req('GET', '/v1/sites/%zz', bearer(ADMIN)), code: 'REG_BAD_REQUEST', message: /URL is not valid/ },
    { name: 'a request line that is not HTTP', request: () => 'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n', code: 'REG_BAD_REQUEST', message: /not valid HTTP\/1\.1/ },
    { name: 'both Content-Length and Transfer-Encoding', request: () => 'POST /v1/sites HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', code: 'REG_BAD_REQUEST' },
    { name: 'no credentials', request: () => req('GET', '/v1/sites'), code: 'REG_UNAUTHORIZED', header: ['www-authenticate', /^Bearer/] },
    { name: 'a role that may not', request: () => req('POST', '/v1/sites', { ...json, ...bearer(viewer) }, '{}'), code: 'REG_FORBIDDEN' },
    { name: 'no such route', request: () => req('GET', '/v2/nothing'), code: 'REG_NOT_FOUND', message: /no route GET \/v2\/nothing/ },
    { name: 'no such record', request: () => req('GET', '/v1/sites/nowhere', bearer(ADMIN)), code: 'REG_NOT_FOUND' },
    { name: 'a method the route does not have', request: () => req('DELETE', '/healthz'), code: 'REG_METHOD_NOT_ALLOWED', header: ['allow', /^GET, HEAD$/] },
    { name: 'OPTIONS (no CORS here)', request: () => req('OPTIONS', '/v1/sites'), code: 'REG_METHOD_NOT_ALLOWED', header: ['allow', /GET, HEAD, POST/] },
    { name: 'a body over the limit', request: () => req('POST', '/v1/sites', { ...json, ...bearer(ADMIN) }, JSON.stringify({ id: 's', name: 'x'.repeat(5000), timeZone: 'UTC' })), code: 'REG_PAYLOAD_TOO_LARGE' },
    { name: 'a URL over the limit', request: () => req('GET', `/v1/sites?x=${'a'.repeat(MAX_URL_LENGTH)}`), code: 'REG_URI_TOO_LONG' },
    { name: 'a URL longer than the HTTP parser reads', request: () => req('GET', `/v1/sites/${'a'.repeat(20_000)}`), code: 'REG_URI_TOO_LONG' },
    { name: 'a path segment longer than the router matches', request: () => req('GET', `/v1/sites/${'a'.repeat(MAX_PARAM_LENGTH + 1)}`, bearer(ADMIN)), code: 'REG_URI_TOO_LONG' },
    { name: 'a body that is not JSON by type', request: () => req('POST', '/v1/sites', { 'Content-Type': 'text/plain', ...bearer(ADMIN) }, 'hello'), code: 'REG_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'an Expect the registry does not know', request: () => req('POST', '/v1/sites', { ...json, ...bearer(ADMIN), Expect: 'tea' }, '{}'), code: 'REG_EXPECTATION_FAILED' },
    { name: 'one huge header', request: () => req('GET', '/healthz', { 'X-Big': 'b'.repeat(20_000) }), code: 'REG_HEADERS_TOO_LARGE' },
    { name: 'thousands of headers', request: () => req('GET', '/healthz', Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`X-H${i}`, 'v']))), code: 'REG_HEADERS_TOO_LARGE' },
  ];

  it.each(cases)('$name: $code', async ({ request, code, message, header }) => {
    const a = await raw(port, request());
    expect(a.status, a.body).toBe(ERRORS[code].status);
    expect(a.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(a.body) as { error: { code: string; message: string } };
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    expect(body.error.message.length).toBeGreaterThan(0);
    if (message) expect(body.error.message).toMatch(message);
    if (header) expect(a.headers[header[0]]).toMatch(header[1]);
    expect(a.body).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });

  it('a request that does not arrive in time: 408', async () => {
    // Headers never finished; the registry (requestTimeoutMs 400 here) answers and closes.
    const a = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', { pauseAfterMs: 0 });
    expect(a.status).toBe(408);
    expect(JSON.parse(a.body)).toEqual({ error: { code: 'REG_REQUEST_TIMEOUT', message: 'the request did not arrive completely in time' } });
  });

  it('a request arriving on a kept-alive connection while the registry stops: 503 with the same body', async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'registry-closing-'));
    const r2 = await openRegistry({ dataDir: dir2, brokerInfo: { url: 'mqtt://127.0.0.1:1883' }, logger: pino({ level: 'silent' }), adminToken: ADMIN });
    let entered = false;
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    // A request still being answered when the close begins (test-only route).
    r2.app.get('/slow', async () => {
      entered = true;
      await gate;
      return { done: true };
    });
    const answered: string[] = [];
    r2.app.addHook('onSend', async (req) => void answered.push(req.url));
    const port2 = Number(new URL(await listen(r2.app, { host: '127.0.0.1', port: 0 })).port);
    const socket = connect(port2, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    const closed = new Promise((res) => socket.on('close', res));
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect.poll(() => entered).toBe(true);
    const closing = r2.app.close();
    await new Promise((res) => setImmediate(res));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    // The second request is read (and answered 503) while the first is still held.
    await expect.poll(() => answered).toContain('/healthz');
    release();
    await closed;
    await closing;
    await r2.close();
    rmSync(dir2, { recursive: true, force: true });
    const text = Buffer.concat(chunks).toString('utf8');
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 200/);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 503/);
    expect(JSON.parse(answers[1]!.slice(answers[1]!.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'REG_SHUTTING_DOWN', message: 'the registry is stopping; retry once it is back' } });
  });

  it('the success path stays as it was (the hooks refuse nothing else)', async () => {
    const a = await raw(port, req('GET', '/healthz'));
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toMatchObject({ status: 'ok' });
  });
});
