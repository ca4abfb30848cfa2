import { useEffect, useRef } from 'preact/hooks';

export type StreamEvent = 'gateway.status' | 'readings' | 'alarm' | 'config.report' | 'command.result' | 'camera.status' | 'rollout';

/**
 * Live updates from the registry's Server-Sent Events (GET /v1/stream, the session cookie),
 * optionally for one gateway; the browser reconnects by itself. Closed when the view goes.
 */
export function useStream(events: readonly StreamEvent[], onEvent: (name: StreamEvent, data: unknown) => void, gateway?: string): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const key = events.join(',');
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const topics = new Set(events.map((e) => TOPIC_OF[e]));
    const q = new URLSearchParams({ topics: [...topics].join(',') });
    if (gateway) q.set('gateway', gateway);
    const es = new EventSource(`/v1/stream?${q}`);
    for (const name of events) {
      es.addEventListener(name, (ev) => {
        try {
          handler.current(name, JSON.parse((ev as MessageEvent<string>).data));
        } catch {
          // not JSON: ignore
        }
      });
    }
    return () => es.close();
  }, [key, gateway]);
}

const TOPIC_OF: Record<StreamEvent, string> = {
  'gateway.status': 'status',
  readings: 'readings',
  alarm: 'alarms',
  'config.report': 'config',
  'command.result': 'commands',
  'camera.status': 'cameras',
  rollout: 'rollouts',
};
