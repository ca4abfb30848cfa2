import { describe, expect, it } from 'vitest';
import { withCrc } from './crc16.js';
import { MbapDecoder } from './mbap-framer.js';
import { RtuRequestDecoder } from './rtu-framer.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const read = withCrc(hex('01 03 0064 0008'));
const write16 = withCrc(hex('02 10 0014 0002 04 0001 0002'));

function decoder(gapMs = 1000) {
  let now = 0;
  const d = new RtuRequestDecoder({ gapMs, now: () => now });
  return { d, later: (ms: number) => (now += ms) };
}

describe('RtuRequestDecoder', () => {
  it('finds frames split across chunks and several in one chunk', () => {
    const { d } = decoder();
    expect(d.push(read.subarray(0, 3))).toEqual([]);
    expect(d.push(read.subarray(3))).toEqual([{ unitId: 1, pdu: hex('03 0064 0008') }]);
    const both = d.push(Buffer.concat([write16, read]));
    expect(both.map((f) => f.unitId)).toEqual([2, 1]);
    expect(both[0]?.pdu.toString('hex')).toBe('10001400020400010002');
  });

  it('delimits FC16 by its byte count, waiting for the whole frame', () => {
    const { d } = decoder();
    expect(d.push(write16.subarray(0, 9))).toEqual([]);
    expect(d.push(write16.subarray(9))).toHaveLength(1);
  });

  it('drops a frame with a bad CRC and still finds the next one', () => {
    const { d } = decoder();
    const bad = Buffer.from(read);
    bad[7] = (bad[7] ?? 0) ^ 0xff;
    expect(d.push(bad)).toEqual([]);
    expect(d.push(read)).toEqual([{ unitId: 1, pdu: hex('03 0064 0008') }]);
  });

  it('resynchronises after garbage in front of a frame', () => {
    const { d } = decoder();
    expect(d.push(Buffer.concat([hex('ff 10 07 ab'), read])).map((f) => f.unitId)).toEqual([1]);
  });

  it('forgets a partial frame after a silence, so garbage cannot wedge it', () => {
    const { d, later } = decoder(50);
    // Looks like the start of an FC16 frame announcing 250 data bytes.
    expect(d.push(hex('01 10 0000 007d fa 00'))).toEqual([]);
    expect(d.pending).toBeGreaterThan(0);
    later(100);
    expect(d.push(read)).toHaveLength(1);
  });

  it('delimits an unsupported function code so it can be answered', () => {
    const { d } = decoder();
    expect(d.push(withCrc(hex('01 2b 0e 01 00')))).toEqual([{ unitId: 1, pdu: hex('2b 0e 01 00') }]);
    expect(d.push(withCrc(hex('01 41 01 02 03')))).toEqual([{ unitId: 1, pdu: hex('41 01 02 03') }]);
  });
});

describe('MbapDecoder', () => {
  const frame = hex('0007 0000 0006 01 03 0000 0002');
  it('handles coalesced and split frames', () => {
    const d = new MbapDecoder();
    const two = d.push(Buffer.concat([frame, frame, frame.subarray(0, 5)]));
    expect(two.frames.map((f) => f.transactionId)).toEqual([7, 7]);
    expect(d.push(frame.subarray(5)).frames).toEqual([{ transactionId: 7, unitId: 1, pdu: hex('03 0000 0002') }]);
  });

  it('marks a non-zero protocol id or an impossible length as malformed', () => {
    expect(new MbapDecoder().push(hex('0001 0001 0006 01 03 0000 0002')).malformed).toBe(true);
    expect(new MbapDecoder().push(hex('0001 0000 0100 01 03 0000 0002')).malformed).toBe(true);
    expect(new MbapDecoder().push(hex('0001 0000 0001 01')).malformed).toBe(true);
  });
});
