import { afterEach, describe, expect, it, vi } from 'vitest';
import { TestBroker } from '@cityedge/test-support';
import { ConnackError, LeanMqtt } from '../../bench/lean-mqtt.js';

/** The province load's lean gateway client against a real broker (aedes over TCP). */
describe('bench lean MQTT client', () => {
  let broker: TestBroker | undefined;

  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
  });

  const start = async (password = 'gw-secret') => {
    broker = await new TestBroker({ authenticate: (_c, user, pw, done) => done(null, user === 'gw-1' && pw?.toString() === password) }).start();
    return broker;
  };
  const open = (b: TestBroker, password = 'gw-secret', clean = true, onMessage?: (topic: string, payload: Buffer) => void) =>
    LeanMqtt.connect({ url: b.url, clientId: 'gw-1', username: 'gw-1', password, keepalive: 30, connectTimeoutMs: 5000, clean, ...(onMessage && { onMessage }) });

  it('publishes at QoS 1 (resolved on PUBACK), subscribes and receives', async () => {
    const b = await start();
    const c = await open(b);
    expect(await c.subscribe('edge/v1/gw-1/config')).toBe(1);
    await c.publish('edge/v1/gw-1/telemetry', Buffer.from('seq 1'));
    expect(b.received).toEqual([expect.objectContaining({ topic: 'edge/v1/gw-1/telemetry', payload: 'seq 1', clientId: 'gw-1' })]);
    const got = new Promise<[string, string]>((resolve) => (c.onMessage = (t, p) => resolve([t, p.toString()])));
    b.broker!.publish({ cmd: 'publish', topic: 'edge/v1/gw-1/config', payload: Buffer.from('{"v":2}'), qos: 1, retain: false, dup: false }, () => undefined);
    expect(await got).toEqual(['edge/v1/gw-1/config', '{"v":2}']);
    c.end(undefined, true);
    expect(c.isOpen).toBe(false);
  });

  it('keeps a persistent session: what is published while it is away arrives on the next connection', async () => {
    const b = await start();
    const first = await open(b, 'gw-secret', false);
    expect(await first.subscribe('edge/v1/gw-1/config')).toBe(1);
    first.end(undefined, true);
    await new Promise<void>((resolve) => b.broker!.publish({ cmd: 'publish', topic: 'edge/v1/gw-1/config', payload: Buffer.from('{"v":3}'), qos: 1, retain: false, dup: false }, () => resolve()));
    const received: string[] = [];
    const again = await open(b, 'gw-secret', false, (_t, p) => received.push(p.toString()));
    await vi.waitFor(() => expect(received).toEqual(['{"v":3}']));
    again.end(undefined, true);
  });

  it('reports a refused login by its CONNACK return code', async () => {
    const b = await start();
    const err = await open(b, 'wrong').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnackError);
    expect((err as ConnackError).returnCode).toBe(5);
  });

  it('rejects a PUBLISH still awaiting its PUBACK when the broker goes away, and says the session ended', async () => {
    const b = await start();
    const c = await open(b);
    const closed = new Promise<Error | undefined>((resolve) => (c.onClose = resolve));
    // The broker never answers this one: it is refused at authorisation and aedes closes the connection.
    b.refusePublish = () => true;
    await expect(c.publish('edge/v1/gw-1/telemetry', 'x')).rejects.toThrow();
    expect(await closed).toBeInstanceOf(Error);
    expect(c.isOpen).toBe(false);
  });
});
