import { describe, expect, it } from 'vitest';
import { MbapGuard } from './mbap-guard.js';

const frame = (protocol: number, pdu: number[], unit = 1) => {
  const b = Buffer.alloc(7 + pdu.length);
  b.writeUInt16BE(7, 0);
  b.writeUInt16BE(protocol, 2);
  b.writeUInt16BE(pdu.length + 1, 4);
  b[6] = unit;
  Buffer.from(pdu).copy(b, 7);
  return b;
};

describe('MbapGuard', () => {
  it('accepts Modbus TCP replies, also split across chunks and back to back', () => {
    const g = new MbapGuard();
    const f = frame(0, [3, 4, 0, 1, 0, 2]);
    expect(g.feed(f.subarray(0, 3))).toBeUndefined();
    expect(g.feed(Buffer.concat([f.subarray(3), frame(0, [6, 0, 1, 0, 5])]))).toBeUndefined();
  });

  it('names a protocol identifier that is not Modbus', () => {
    expect(new MbapGuard().feed(frame(0xffff, [3, 2, 0, 1]))).toBe('a reply with protocol identifier 0xffff (Modbus is 0)');
  });

  it('names a length no Modbus reply has', () => {
    const b = frame(0, [3, 2, 0, 1]);
    b.writeUInt16BE(60_000, 4);
    expect(new MbapGuard().feed(b)).toBe('a reply with an MBAP length of 60000 (2..254)');
  });
});
