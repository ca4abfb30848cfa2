import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulation, type Simulation } from '../simulation.js';
import { ManualClock, mbap, RawClient, readPdu, writeSinglePdu } from '../test-support/raw-client.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** The SHT20 reply to FC04 1..2 at 30.5 C / 54.6 %, after the 7-byte MBAP header. */
const SHT_PDU = '0404013102' + '22';

let sim: Simulation;
let client: RawClient;

beforeAll(async () => {
  sim = await startSimulation(
    {
      endpoints: [
        {
          id: 'gw',
          transport: 'tcp',
          devices: [
            { id: 'th', model: 'sht20', unitId: 1, options: { temperature: 30.5, humidity: 54.6 } },
            { id: 'river', model: 'vegapuls-c21' },
            { id: 'lights', model: 'intesis-dali', unitId: 3, options: { ballastsPerChannel: 2 } },
          ],
        },
      ],
    },
    { clock: new ManualClock(), seed: 7, tickMs: 0 },
  );
});
afterAll(() => sim.stop());

afterEach(() => {
  client?.close();
  for (const d of sim.devices()) d.setFault('none');
});

async function connect(): Promise<RawClient> {
  client = await RawClient.connect(sim.endpoint('gw').port ?? 0);
  return client;
}

describe('Modbus TCP endpoint', () => {
  it('reports the bound port', () => {
    expect(sim.endpoint('gw')).toMatchObject({ transport: 'tcp', host: '127.0.0.1' });
    expect(sim.endpoint('gw').port).toBeGreaterThan(0);
  });

  it('answers FC04 with the MBAP header echoing the transaction id', async () => {
    const c = await connect();
    await c.write(mbap(0x1234, 1, readPdu(4, 1, 2)));
    expect((await c.take(13)).toString('hex')).toBe('123400000007' + '01' + SHT_PDU);
  });

  it('answers several frames coalesced in one chunk, in order', async () => {
    const c = await connect();
    await c.write(Buffer.concat([mbap(1, 1, readPdu(4, 1, 2)), mbap(2, 1, readPdu(4, 1, 1)), mbap(3, 246, readPdu(3, 104, 1))]));
    expect((await c.take(13)).readUInt16BE(0)).toBe(1);
    expect((await c.take(11)).toString('hex')).toBe('0002000000050104020131');
    expect((await c.take(11)).toString('hex')).toBe('000300000005f6030200' + '2d');
  });

  it('answers a frame that arrives one byte at a time', async () => {
    const c = await connect();
    for (const byte of mbap(9, 1, readPdu(4, 1, 2))) await c.write([byte]);
    expect((await c.take(13)).toString('hex')).toBe('000900000007' + '01' + SHT_PDU);
  });

  it('answers exceptions 01, 02 and 03', async () => {
    const c = await connect();
    await c.write(mbap(1, 1, hex('2b0e0100')));
    expect((await c.take(9)).toString('hex')).toBe('000100000003' + '01ab01');
    await c.write(mbap(2, 1, readPdu(4, 3, 1)));
    expect((await c.take(9)).toString('hex')).toBe('000200000003' + '018402');
    await c.write(mbap(3, 1, readPdu(4, 1, 126)));
    expect((await c.take(9)).toString('hex')).toBe('000300000003' + '018403');
  });

  it('answers exception 0B for a unit id no device has', async () => {
    const c = await connect();
    await c.write(mbap(5, 99, readPdu(3, 0, 1)));
    expect((await c.take(9)).toString('hex')).toBe('000500000003' + '63830b');
  });

  it('closes the connection on a malformed MBAP header', async () => {
    const c = await connect();
    await c.write(hex('0001 0007 0006 01 03 0000 0002'));
    await c.waitClosed();
    expect(c.isClosed).toBe(true);
  });

  it('applies a write: the VEGAPULS PV follows the word order written to register 3000', async () => {
    const c = await connect();
    await c.write(mbap(1, 246, writeSinglePdu(3000, 1)));
    expect((await c.take(12)).toString('hex')).toBe('000100000006' + 'f6060bb80001');
    await c.write(mbap(2, 246, writeSinglePdu(3000, 7)));
    expect((await c.take(9)).toString('hex')).toBe('000200000003' + 'f68603');
    expect(sim.device('river').snapshot().wordOrder).toBe('CDAB');
  });
});

describe('faults on Modbus TCP', () => {
  it('no-reply: the request goes unanswered while other units still answer', async () => {
    sim.device('th').setFault('no-reply');
    const c = await connect();
    await c.write(Buffer.concat([mbap(1, 1, readPdu(4, 1, 2)), mbap(2, 246, readPdu(3, 104, 1))]));
    // Replies come in request order, so the first one to arrive shows unit 1 stayed silent.
    expect((await c.take(11)).toString('hex')).toBe('000200000005f60302002d');
    expect((await c.drain(50)).length).toBe(0);
  });

  it('crc-error: a corrupted frame with protocol id 0xFFFF', async () => {
    sim.device('th').setFault({ mode: 'crc-error' });
    const c = await connect();
    await c.write(mbap(1, 1, readPdu(4, 1, 2)));
    const reply = await c.take(13);
    expect(reply.readUInt16BE(2)).toBe(0xffff);
    expect(reply.subarray(7).toString('hex')).not.toBe('01' + SHT_PDU);
  });

  it('exception: the given code, and a write is not applied', async () => {
    sim.device('lights').setFault('exception:6');
    const c = await connect();
    await c.write(mbap(1, 3, writeSinglePdu(15, 80)));
    expect((await c.take(9)).toString('hex')).toBe('000100000003' + '038606');
    expect(sim.device('lights').bank.get('holding', 15)).toBe(0);
  });

  it('slow: the reply comes, but late', async () => {
    sim.device('th').setFault('slow:300');
    const c = await connect();
    await c.write(mbap(1, 1, readPdu(4, 1, 2)));
    expect((await c.drain(100)).length).toBe(0);
    expect((await c.take(13)).toString('hex')).toBe('000100000007' + '01' + SHT_PDU);
  });

  it('garbage: random bytes instead of the reply', async () => {
    sim.device('th').setFault('garbage');
    const c = await connect();
    await c.write(Buffer.concat([mbap(1, 1, readPdu(4, 1, 2)), mbap(2, 246, readPdu(3, 104, 1))]));
    const healthy = Buffer.from('000200000005f60302002d', 'hex');
    const all = await c.take(3);
    let rest = Buffer.alloc(0);
    // Read until the healthy reply shows up at the end; what came before it is the garbage.
    while (!Buffer.concat([all, rest]).subarray(-healthy.length).equals(healthy)) rest = Buffer.concat([rest, await c.take(1)]);
    const garbage = Buffer.concat([all, rest]).subarray(0, -healthy.length);
    expect(garbage.length).toBeGreaterThanOrEqual(3);
    expect(garbage.length).toBeLessThanOrEqual(16);
    expect(garbage.toString('hex')).not.toContain(SHT_PDU);
  });

  it('truncated: only the first part of the frame', async () => {
    sim.device('th').setFault('truncated');
    const c = await connect();
    await c.write(mbap(1, 1, readPdu(4, 1, 2)));
    expect((await c.take(6)).toString('hex')).toBe('000100000007');
    expect((await c.drain(100)).length).toBe(0);
  });

  it('wrong-unit: a well-formed reply from another unit id', async () => {
    sim.device('th').setFault('wrong-unit');
    const c = await connect();
    await c.write(mbap(1, 1, readPdu(4, 1, 2)));
    expect((await c.take(13)).toString('hex')).toBe('000100000007' + '02' + SHT_PDU);
  });

  it('probability: an intermittent fault hits some requests, not all', async () => {
    sim.device('th').setFault('no-reply@0.5');
    const c = await connect();
    const frames = [...Array(40).keys()].map((i) => mbap(i + 1, 1, readPdu(4, 1, 2)));
    await c.write(Buffer.concat([...frames, mbap(999, 246, readPdu(3, 104, 1))]));
    let answered = 0;
    for (;;) {
      const head = await c.take(7);
      const body = await c.take(head.readUInt16BE(4) - 1);
      if (head.readUInt16BE(0) === 999) break;
      expect(body.toString('hex')).toBe(SHT_PDU);
      answered++;
    }
    expect(answered).toBeGreaterThan(5);
    expect(answered).toBeLessThan(35);
  });
});
