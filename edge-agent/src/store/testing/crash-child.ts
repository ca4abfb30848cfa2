/**
 * A child process for the crash test: appends numbered readings (v = 0, 1, 2...) and events as fast
 * as it can, takes and acks some batches, and reports on stdout what is durable, until killed:
 *   committed <n>             readings 0..n-1 are committed
 *   batch <seq> <sha1> <runs>  a batch was handed out (committed): payload hash, reading values as
 *                             runs "a-b,c-d" (- for events)
 *   ack <seq>                 the batch was acked (its deletion may or may not be durable)
 */
import { createHash } from 'node:crypto';
import pino from 'pino';
import { Outbox } from '../outbox.js';

const path = process.argv[2];
const offset = Number(process.argv[3] ?? 0);
if (!path) throw new Error('usage: crash-child <outbox file> [first value]');

const outbox = new Outbox({
  path,
  gatewayId: 'gw-crash',
  maxRows: 10_000_000,
  maxBytes: 10_000_000_000,
  telemetryOverflow: 'drop-oldest',
  commitIntervalMs: 2,
  logger: pino({ level: 'silent' }),
  startupCheck: 'none',
});
outbox.start();

let appended = offset;
let committedUpTo = offset;
let tick = 0;
outbox.onCommit(() => {
  if (committedUpTo !== appended) {
    committedUpTo = appended;
    process.stdout.write(`committed ${committedUpTo}\n`);
  }
});

function step(): void {
  tick++;
  const n = 1 + (tick % 700);
  const readings = [];
  for (let i = 0; i < n; i++) readings.push({ dev: 'd1', pt: 'p', ts: 1_700_000_000_000 + appended + i, v: appended + i, q: 'good' as const });
  appended += n;
  outbox.appendReadings(readings);
  if (tick % 25 === 0) outbox.appendEvent({ type: 'test.event', ts: tick, severity: 'info', message: `tick ${tick}` });
  if (tick % 3 === 0) {
    for (const b of outbox.takeBatches(3, 400)) {
      const values = b.stream === 'telemetry' ? (JSON.parse(b.payload) as { readings: Array<{ v: number }> }).readings.map((r) => r.v) : [];
      process.stdout.write(`batch ${b.seq} ${createHash('sha1').update(b.payload).digest('hex')} ${runs(values)}\n`);
      if (b.seq % 2 === 0) {
        outbox.ack(b.seq);
        process.stdout.write(`ack ${b.seq}\n`);
      }
    }
  }
  setTimeout(step, tick % 5);
}
function runs(values: number[]): string {
  const out: string[] = [];
  let start = values[0];
  for (let i = 1; i <= values.length; i++) {
    const prev = values[i - 1] as number;
    if (values[i] !== prev + 1) {
      out.push(`${start}-${prev}`);
      start = values[i];
    }
  }
  return out.join(',') || '-';
}

process.stdout.write('ready\n');
step();
