/** CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), table-driven. The CRC goes on the wire low byte first. */
const TABLE = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    table[n] = c;
  }
  return table;
}

export function crc16(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ (TABLE[(crc ^ (data[i] ?? 0)) & 0xff] ?? 0);
  return crc;
}

/** The frame with its CRC appended (low byte first). */
export function withCrc(frame: Uint8Array): Buffer {
  const out = Buffer.alloc(frame.length + 2);
  out.set(frame, 0);
  out.writeUInt16LE(crc16(frame), frame.length);
  return out;
}

/** True when the last two bytes of data[start..end) are the CRC of the bytes before them. */
export function crcMatches(data: Uint8Array, start = 0, end = data.length): boolean {
  if (end - start < 3) return false;
  const crc = crc16(data, start, end - 2);
  return (data[end - 2] ?? -1) === (crc & 0xff) && (data[end - 1] ?? -1) === crc >>> 8;
}
