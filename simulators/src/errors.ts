import type { Problem } from '@cityedge/contract';

export type SimErrorCode =
  /** The simulation spec (or CLI flags) is invalid; `problems` lists every issue with its path. */
  | 'SIM_CONFIG_INVALID'
  /** An endpoint could not listen or open its serial port. */
  | 'SIM_LISTEN'
  /** No device (or endpoint) with that id in the simulation. */
  | 'SIM_UNKNOWN_DEVICE'
  /** A value, fault or option given through the API is not valid for the device. */
  | 'SIM_BAD_VALUE';

export class SimError extends Error {
  override readonly name = 'SimError';
  readonly code: SimErrorCode;
  readonly problems: readonly Problem[];

  constructor(code: SimErrorCode, message: string, options: { cause?: unknown; problems?: readonly Problem[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.problems = options.problems ?? [];
  }
}
