import { describe, expect, it } from 'vitest';
import { crc16, crcMatches, withCrc } from './crc16.js';

describe('CRC-16/MODBUS', () => {
  it('matches the SHT20 request and reply vector from the datasheet', () => {
    expect(withCrc(Buffer.from('010400010002', 'hex')).toString('hex')).toBe('01040001000220' + '0b');
    expect(withCrc(Buffer.from('01040401310222', 'hex')).toString('hex')).toBe('010404013102222ace');
  });

  it('is the check value 0x4B37 for "123456789"', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x4b37);
  });

  it('detects a corrupted byte', () => {
    const frame = withCrc(Buffer.from('0103006b0003', 'hex'));
    expect(crcMatches(frame)).toBe(true);
    frame[3] = (frame[3] ?? 0) ^ 1;
    expect(crcMatches(frame)).toBe(false);
  });
});
