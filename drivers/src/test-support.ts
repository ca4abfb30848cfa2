// Helpers for this package's tests only (not exported from index.ts).

/** CRC-16/MODBUS: polynomial 0xA001 (reflected 0x8005), initial 0xFFFF; sent low byte first. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** The frame with its CRC appended. */
export function withCrc(bytes: readonly number[]): Buffer {
  const body = Buffer.from(bytes);
  const crc = Buffer.alloc(2);
  crc.writeUInt16LE(crc16(body), 0);
  return Buffer.concat([body, crc]);
}

export function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
