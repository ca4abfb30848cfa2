/** prom-client's default metrics, one module each (see http/process-metrics.ts); the package has no types for them. */
declare module 'prom-client/lib/metrics/*.js' {
  import type { Registry } from 'prom-client';
  const collect: (registry: Registry, config: { prefix?: string; eventLoopMonitoringPrecision?: number }) => void;
  export default collect;
}
