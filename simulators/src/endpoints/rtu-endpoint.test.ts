import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { crcMatches } from '../modbus/crc16.js';
import { startSimulation, type Simulation } from '../simulation.js';
import { ManualClock, RawClient, readPdu, rtu, writeSinglePdu } from '../test-support/raw-client.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** Datasheet vector: request and reply of the SHT20 at 30.5 C / 54.6 %. */
const SHT_REQUEST = hex('01 04 00 01 00 02 20 0B');
const SHT_REPLY = '010404013102222ace';

let sim: Simulation;
let client: RawClient;
const clock = new ManualClock();

beforeAll(async () => {
  sim = await startSimulation(
    {
      endpoints: [
        {
          id: 'bus',
          transport: 'rtu-over-tcp',
          frameGapMs: 150,
          devices: [
            { id: 'th', model: 'sht20', unitId: 1, options: { temperature: 30.5, humidity: 54.6 } },
            { id: 'lights', model: 'intesis-dali', unitId: 5, options: { ballastsPerChannel: 3 } },
          ],
        },
      ],
    },
    { clock, seed: 3, tickMs: 0 },
  );
});
afterAll(() => sim.stop());
afterEach(() => {
  client?.close();
  for (const d of sim.devices()) d.setFault('none');
});

async function connect(): Promise<RawClient> {
  client = await RawClient.connect(sim.endpoint('bus').port ?? 0);
  return client;
}

/** A request to the DALI gateway whose 7-byte reply marks "everything before has been answered". */
const MARKER = rtu(hex('05 03 0005 0001'));

describe('RTU over TCP endpoint', () => {
  it('answers the SHT20 datasheet vector byte for byte', async () => {
    const c = await connect();
    await c.write(SHT_REQUEST);
    expect((await c.take(9)).toString('hex')).toBe(SHT_REPLY);
  });

  it('answers a request split across chunks and requests coalesced in one chunk', async () => {
    const c = await connect();
    await c.write(SHT_REQUEST.subarray(0, 3));
    await new Promise((r) => setTimeout(r, 5));
    await c.write(SHT_REQUEST.subarray(3));
    expect((await c.take(9)).toString('hex')).toBe(SHT_REPLY);
    await c.write(Buffer.concat([SHT_REQUEST, SHT_REQUEST]));
    expect((await c.take(18)).toString('hex')).toBe(SHT_REPLY + SHT_REPLY);
  });

  it('ignores a request with a bad CRC and one for a unit id not on the bus', async () => {
    const c = await connect();
    const bad = Buffer.from(SHT_REQUEST);
    bad[6] = 0x21;
    await c.write(Buffer.concat([bad, rtu(Buffer.concat([Buffer.from([9]), readPdu(4, 1, 2)]))]));
    await c.write(MARKER);
    const reply = await c.take(7);
    expect(reply[0]).toBe(5);
    expect(crcMatches(reply)).toBe(true);
    expect((await c.drain(30)).length).toBe(0);
  });

  it('answers exceptions with a valid CRC', async () => {
    const c = await connect();
    await c.write(rtu(hex('01 03 0000 0001')));
    const reply = await c.take(5);
    expect(reply.subarray(0, 3).toString('hex')).toBe('018302');
    expect(crcMatches(reply)).toBe(true);
  });

  it('forgets garbage after a silence and answers the next request', async () => {
    const c = await connect();
    await c.write(hex('01 10 00 00 00 7d fa 01 02'));
    await new Promise((r) => setTimeout(r, 350));
    await c.write(SHT_REQUEST);
    expect((await c.take(9)).toString('hex')).toBe(SHT_REPLY);
  });

  it('applies a broadcast (unit 0) write without replying', async () => {
    const c = await connect();
    // DALI broadcast level of channel 0 (register 6800) on unit 0: every ballast gets 60 %.
    await c.write(rtu(Buffer.concat([Buffer.from([0]), writeSinglePdu(6800, 60)])));
    await c.write(MARKER);
    expect((await c.take(7))[0]).toBe(5);
    expect(sim.device('lights').bank.get('holding', 115)).toBe(60);
    expect(sim.device('lights').bank.get('holding', 215)).toBe(60);
  });
});

describe('faults on RTU', () => {
  async function ask(): Promise<RawClient> {
    const c = await connect();
    await c.write(SHT_REQUEST);
    return c;
  }

  it('no-reply: silence (the next request on the bus is answered first)', async () => {
    sim.device('th').setFault('no-reply');
    const c = await ask();
    await c.write(MARKER);
    expect((await c.take(7))[0]).toBe(5);
  });

  it('crc-error: the right frame with a wrong CRC', async () => {
    sim.device('th').setFault('crc-error');
    const reply = await (await ask()).take(9);
    expect(reply.subarray(0, 7).toString('hex')).toBe(SHT_REPLY.slice(0, 14));
    expect(crcMatches(reply)).toBe(false);
  });

  it('exception: the code with a valid CRC', async () => {
    sim.device('th').setFault({ mode: 'exception', code: 0x0b });
    const reply = await (await ask()).take(5);
    expect(reply.subarray(0, 3).toString('hex')).toBe('01840b');
    expect(crcMatches(reply)).toBe(true);
  });

  it('slow: the right reply, late', async () => {
    sim.device('th').setFault('slow:250');
    const c = await ask();
    expect((await c.drain(80)).length).toBe(0);
    expect((await c.take(9)).toString('hex')).toBe(SHT_REPLY);
  });

  it('garbage: random bytes that are not the reply', async () => {
    sim.device('th').setFault('garbage');
    const c = await ask();
    const got = await c.take(3);
    const more = await c.drain(60);
    const all = Buffer.concat([got, more]);
    expect(all.length).toBeLessThanOrEqual(16);
    expect(all.toString('hex')).not.toBe(SHT_REPLY);
  });

  it('truncated: the first half of the frame only', async () => {
    sim.device('th').setFault('truncated');
    const c = await ask();
    expect((await c.take(4)).toString('hex')).toBe(SHT_REPLY.slice(0, 8));
    expect((await c.drain(80)).length).toBe(0);
  });

  it('wrong-unit: a valid frame from another unit id', async () => {
    sim.device('th').setFault('wrong-unit:7');
    const reply = await (await ask()).take(9);
    expect(reply[0]).toBe(7);
    expect(reply.subarray(1, 7).toString('hex')).toBe(SHT_REPLY.slice(2, 14));
    expect(crcMatches(reply)).toBe(true);
  });
});
