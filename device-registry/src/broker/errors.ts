/**
 * Errors of the broker side, raised inside the process (at start or when publishing) and
 * documented in the README's second error table. An HTTP request that meets one answers
 * REG_BROKER_UNAVAILABLE.
 */
export type BrokerErrorCode =
  /** The broker is not reachable or not started. */
  | 'REG_BROKER_UNAVAILABLE'
  /** The broker refused the registry's own login. */
  | 'REG_BROKER_AUTH'
  /** The broker refused a publish or subscription of the registry. */
  | 'REG_BROKER_DENIED'
  /** The broker (or the dynamic-security plugin) did not answer in time. */
  | 'REG_BROKER_TIMEOUT'
  /** Inconsistent broker settings: account names, a configuration for another gateway, a bad gateway id. */
  | 'REG_BROKER_CONFIG'
  /** Mosquitto's dynamic-security plugin refused a command. */
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
