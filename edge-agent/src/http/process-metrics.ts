import type { Registry } from 'prom-client';
import eventLoopLag from 'prom-client/lib/metrics/eventLoopLag.js';
import heapSizeAndUsed from 'prom-client/lib/metrics/heapSizeAndUsed.js';
import heapSpacesSizeAndUsed from 'prom-client/lib/metrics/heapSpacesSizeAndUsed.js';
import osMemoryHeap from 'prom-client/lib/metrics/osMemoryHeap.js';
import processCpuTotal from 'prom-client/lib/metrics/processCpuTotal.js';
import processHandles from 'prom-client/lib/metrics/processHandles.js';
import processMaxFileDescriptors from 'prom-client/lib/metrics/processMaxFileDescriptors.js';
import processOpenFileDescriptors from 'prom-client/lib/metrics/processOpenFileDescriptors.js';
import processRequests from 'prom-client/lib/metrics/processRequests.js';
import processResources from 'prom-client/lib/metrics/processResources.js';
import processStartTime from 'prom-client/lib/metrics/processStartTime.js';
import version from 'prom-client/lib/metrics/version.js';

/**
 * prom-client's default process metrics (its collectDefaultMetrics() list), all but the GC
 * duration histogram. That one observes every garbage collection with a PerformanceObserver:
 * Node makes an entry object per collection (with deprecated accessors, closures each) and hands
 * it over on a later turn, so the entries outlive the young generation. At 5,000 readings/s the
 * agent runs about ten scavenges a second, and a sampling heap profile (objects that reach the old
 * generation) put these entries at a third of everything it promoted (issue 8, RSS after an outage).
 * Heap sizes and spaces, CPU and event-loop lag say more about a gateway short of memory.
 */
const PROCESS_METRICS = [
  processCpuTotal,
  processStartTime,
  osMemoryHeap,
  processOpenFileDescriptors,
  processMaxFileDescriptors,
  eventLoopLag,
  processResources,
  processHandles,
  processRequests,
  heapSizeAndUsed,
  heapSpacesSizeAndUsed,
  version,
];

export function collectProcessMetrics(registry: Registry, config: { prefix: string; eventLoopMonitoringPrecision: number }): void {
  for (const collect of PROCESS_METRICS) collect(registry, config);
}
