/** Coded errors of the broker side (catalogue entries REG_BROKER_*, REG_DYNSEC_*). */
export type BrokerErrorCode =
  | 'REG_BROKER_UNAVAILABLE'
  | 'REG_BROKER_AUTH'
  | 'REG_BROKER_DENIED'
  | 'REG_BROKER_TIMEOUT'
  | 'REG_BROKER_CONFIG'
  | 'REG_DYNSEC_FAILED';

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
