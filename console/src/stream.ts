import { useEffect, useRef } from 'preact/hooks';

export type StreamEvent = 'gateway.status' | 'readings' | 'alarm' | 'config.report' | 'command.result' | 'camera.status' | 'rollout';

const TOPIC_OF: Record<StreamEvent, string> = {
  'gateway.status': 'status',
  readings: 'readings',
  alarm: 'alarms',
  'config.report': 'config',
  'command.result': 'commands',
  'camera.status': 'cameras',
  rollout: 'rollouts',
};

interface Subscriber {
  events: readonly StreamEvent[];
  gateway: string | undefined;
  onEvent: (name: StreamEvent, data: unknown) => void;
  onOpen: (() => void) | undefined;
}

/**
 * One EventSource per page, whatever the number of components listening: a browser keeps few
 * connections per host (6 over HTTP/1.1), so a stream per component would starve the page's
 * API calls. It carries the union of the topics wanted, for the gateway the page shows.
 */
const subscribers = new Set<Subscriber>();
let source: EventSource | undefined;
let sourceKey = '';
let pending = false;

function reconnect(): void {
  pending = false;
  const events = [...new Set([...subscribers].flatMap((s) => s.events))].sort();
  const gateway = [...subscribers].find((s) => s.gateway)?.gateway;
  const topics = [...new Set(events.map((e) => TOPIC_OF[e]))];
  const key = topics.length === 0 ? '' : `${topics.join(',')}|${gateway ?? ''}`;
  if (key === sourceKey) return;
  source?.close();
  source = undefined;
  sourceKey = key;
  if (!key || typeof EventSource === 'undefined') {
    delete document.body.dataset.stream;
    return;
  }
  const q = new URLSearchParams({ topics: topics.join(',') });
  if (gateway) q.set('gateway', gateway);
  const es = new EventSource(`/v1/stream?${q}`);
  source = es;
  // Changes made while the stream was not open are not replayed: once it is, each view loads
  // again what it shows (the first load may have raced the stream's start too).
  es.addEventListener('open', () => {
    document.body.dataset.stream = 'open';
    for (const s of subscribers) s.onOpen?.();
  });
  es.addEventListener('error', () => {
    if (es.readyState !== EventSource.OPEN) document.body.dataset.stream = 'connecting';
  });
  for (const name of events) {
    es.addEventListener(name, (ev) => {
      let data: unknown;
      try {
        data = JSON.parse((ev as MessageEvent<string>).data);
      } catch {
        return;
      }
      for (const s of subscribers) if (s.events.includes(name)) s.onEvent(name, data);
    });
  }
}

/** Changes of subscribers within one render are applied together. */
function schedule(): void {
  if (pending) return;
  pending = true;
  queueMicrotask(reconnect);
}

/**
 * Live updates from the registry's Server-Sent Events (GET /v1/stream, the session cookie),
 * optionally for one gateway; the browser reconnects by itself. Unsubscribed when the view goes.
 */
export function useStream(events: readonly StreamEvent[], onEvent: (name: StreamEvent, data: unknown) => void, gateway?: string, onOpen?: () => void): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const opened = useRef(onOpen);
  opened.current = onOpen;
  const key = events.join(',');
  useEffect(() => {
    const sub: Subscriber = { events, gateway, onEvent: (n, d) => handler.current(n, d), onOpen: () => opened.current?.() };
    subscribers.add(sub);
    schedule();
    return () => {
      subscribers.delete(sub);
      schedule();
    };
  }, [key, gateway]);
}
