/** The part of intel-hex 0.2 (no typings of its own) the emulator uses. */
declare module 'intel-hex' {
  interface ParseResult {
    /** The image, padded with 0xFF where the file has no data. */
    data: Buffer;
    startSegmentAddress: number | null;
    startLinearAddress: number | null;
  }
  const intelHex: { parse(data: string | Buffer, bufferSize?: number, addressOffset?: number): ParseResult };
  export default intelHex;
}
