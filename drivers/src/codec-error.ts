import { EdgeError } from '@cityedge/contract';
/** Codes of the point codec's errors: a point that cannot be read or written as described, or a bad value. */
export type CodecErrorCode =
  /** The point itself cannot be handled (spans past address 65535, a bit point written on its own...). */
  | 'EDGE_POINT_INVALID'
  /** A value of the wrong kind for the point (a string for a number, a number for a coil...). */
  | 'EDGE_VALUE_TYPE'
  /** A value outside what the point's type can hold once scaled. */
  | 'EDGE_VALUE_OUT_OF_RANGE';

export class CodecError extends EdgeError<CodecErrorCode> {
  override readonly name = 'CodecError';

  constructor(code: CodecErrorCode, message: string) {
    super(code, message);
  }
}
