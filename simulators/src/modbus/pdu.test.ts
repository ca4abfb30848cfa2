import { describe, expect, it } from 'vitest';
import { servePdu } from './pdu.js';
import { RegisterBank } from './register-bank.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function bank(): RegisterBank {
  const b = new RegisterBank({
    validateWrite: (_t, _a, values) => (values.includes(0xdead) ? 0x04 : undefined),
  });
  b.map('holding', 10, { count: 4, value: 0x1234 });
  b.map('holding', 20, { count: 2, writable: true });
  b.map('input', 0, { count: 130 });
  b.map('coil', 0, { count: 20, writable: true });
  b.map('discrete', 0, { count: 10 });
  return b;
}

describe('servePdu', () => {
  it('reads holding registers (FC03) as big-endian words', () => {
    expect(servePdu(hex('03 000a 0002'), bank()).toString('hex')).toBe('03041234' + '1234');
  });

  it('answers exception 02 when any address of the range is not mapped', () => {
    expect(servePdu(hex('03 000c 0003'), bank()).toString('hex')).toBe('8302');
    expect(servePdu(hex('04 ffff 0002'), bank()).toString('hex')).toBe('8402');
  });

  it('answers exception 03 for counts outside 1..125 registers and 1..2000 bits', () => {
    expect(servePdu(hex('04 0000 0000'), bank()).toString('hex')).toBe('8403');
    expect(servePdu(hex('04 0000 007e'), bank()).toString('hex')).toBe('8403');
    expect(servePdu(hex('04 0000 007d'), bank())[1]).toBe(250);
    expect(servePdu(hex('01 0000 07d1'), bank()).toString('hex')).toBe('8103');
  });

  it('answers exception 01 for an unknown function code', () => {
    expect(servePdu(hex('2b 0e01 00'), bank()).toString('hex')).toBe('ab01');
    expect(servePdu(hex('07'), bank()).toString('hex')).toBe('8701');
  });

  it('answers exception 03 for a malformed request body', () => {
    expect(servePdu(hex('03 000a 00'), bank()).toString('hex')).toBe('8303');
  });

  it('packs bits LSB first (FC01/FC02)', () => {
    const b = bank();
    b.set('coil', 0, 1);
    b.set('coil', 3, 1);
    b.set('coil', 9, 1);
    expect(servePdu(hex('01 0000 000a'), b).toString('hex')).toBe('01020902');
    expect(servePdu(hex('02 0000 000a'), b).toString('hex')).toBe('02020000');
  });

  it('FC05 accepts only 0xFF00 and 0x0000', () => {
    const b = bank();
    expect(servePdu(hex('05 0002 ff00'), b).toString('hex')).toBe('050002ff00');
    expect(b.get('coil', 2)).toBe(1);
    expect(servePdu(hex('05 0002 0001'), b).toString('hex')).toBe('8503');
    expect(servePdu(hex('05 0002 0000'), b).toString('hex')).toBe('0500020000');
    expect(b.get('coil', 2)).toBe(0);
  });

  it('FC06/FC16 write writable registers and echo', () => {
    const b = bank();
    expect(servePdu(hex('06 0014 abcd'), b).toString('hex')).toBe('060014abcd');
    expect(servePdu(hex('10 0014 0002 04 0001 0002'), b).toString('hex')).toBe('1000140002');
    expect([b.get('holding', 20), b.get('holding', 21)]).toEqual([1, 2]);
  });

  it('a write to a read-only or unmapped register is exception 02 and changes nothing', () => {
    const b = bank();
    expect(servePdu(hex('06 000a 0001'), b).toString('hex')).toBe('8602');
    expect(b.get('holding', 10)).toBe(0x1234);
    expect(servePdu(hex('10 0015 0002 04 0001 0002'), b).toString('hex')).toBe('9002');
    expect(b.get('holding', 21)).toBe(0);
  });

  it('lets the device veto a write (exception 04 here)', () => {
    expect(servePdu(hex('06 0014 dead'), bank()).toString('hex')).toBe('8604');
  });

  it('FC15/FC16 with a byte count that does not match the quantity are exception 03', () => {
    expect(servePdu(hex('10 0014 0002 03 0001 00'), bank()).toString('hex')).toBe('9003');
    expect(servePdu(hex('0f 0000 000a 01 ff'), bank()).toString('hex')).toBe('8f03');
  });

  it('FC15 writes coils from packed bits', () => {
    const b = bank();
    expect(servePdu(hex('0f 0000 000a 02 0503'), b).toString('hex')).toBe('0f0000000a');
    expect([...Array(10).keys()].map((i) => b.get('coil', i))).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 1, 1]);
  });
});
