import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LogRing, redactSecrets } from './log-ring.js';

describe('LogRing', () => {
  it('keeps the newest lines within its bounds', () => {
    const ring = new LogRing(3, 10_000);
    const log = pino({ base: undefined }, ring);
    for (let i = 0; i < 5; i++) log.info({ i }, 'line');
    expect(ring.tail(10).map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([2, 3, 4]);
    expect(ring.tail(1)).toHaveLength(1);
  });

  it('redacts credentials in URLs, secrets in fields and tokens in text', () => {
    expect(redactSecrets('connecting to mqtts://gw-1:s3cret@broker:8883 now')).toBe('connecting to mqtts://[redacted]@broker:8883 now');
    expect(redactSecrets('rtsp://admin:hunter2@10.0.0.5/stream')).toBe('rtsp://[redacted]@10.0.0.5/stream');
    expect(redactSecrets('{"password":"x1","user":"a"}')).toBe('{"password":"[redacted]","user":"a"}');
    expect(redactSecrets('GET /?token=abcdef123 Authorization: Bearer abcdefghijklmnop')).toBe('GET /?token=[redacted] Authorization: Bearer [redacted]');
  });
});
