/**
 * `npm run province:cluster`: the province's broker cluster for a human (or the load tool) on this
 * machine: three RabbitMQ 3.10 nodes on loopback (MQTT 3.1.1 + AMQP), clustered, with the ingest
 * quorum queue declared. With `--registry URL` the nodes authenticate gateways through the
 * registry's RabbitMQ HTTP auth endpoints (`cityedge-registry --broker rabbitmq`). Runs until
 * Ctrl-C, then kills the nodes and removes their directory (unless --keep).
 */
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { declareIngestQueue, INGEST_QUEUE } from '@cityedge/device-registry';
import { RabbitCluster, type RabbitAuth } from '@cityedge/test-support';

const USAGE = `usage: node dist/province-cluster.js [--nodes 3] [--dir DIR] [--registry URL] [--secret S] [--keep] [--json]

  --nodes N        number of RabbitMQ nodes                                 [3]
  --dir DIR        data, logs, configuration (kept with --keep)             [a temp dir]
  --registry URL   the registry's base URL: gateways and accounts are authenticated by it
                   (POST URL/broker/rabbitmq[/SECRET]/{user,vhost,resource,topic}); without
                   it only the printed administrator can log in
  --secret S       the registry's shared secret for those endpoints (--rabbitmq-auth-secret)
  --json           print one JSON line (urls, credentials, start-up ms) instead of text
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '3' },
      dir: { type: 'string' },
      registry: { type: 'string' },
      secret: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 7) throw new Error('--nodes: expected an integer from 1 to 7');
  let auth: RabbitAuth = { kind: 'internal' };
  if (values.registry) {
    const secret = values.secret ? `/${encodeURIComponent(values.secret)}` : '';
    auth = { kind: 'http', baseUrl: `${values.registry.replace(/\/$/, '')}/broker/rabbitmq${secret}` };
  }
  const cluster = new RabbitCluster({ nodes, auth, ...(values.dir ? { dir: values.dir } : {}) });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await cluster.stop(values.keep);
    process.exit(0);
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => void stop());
  await cluster.start();
  const conn = await amqp.connect(cluster.amqpUrls[0]!);
  await declareIngestQueue(await conn.createChannel());
  await conn.close();
  const info = { mqttUrls: cluster.mqttUrls, amqpUrls: cluster.amqpUrls, nodes: cluster.nodes.map((n) => n.name), admin: { user: cluster.user, password: cluster.password }, ingestQueue: INGEST_QUEUE, dir: cluster.dir, startupMs: cluster.startupMs };
  if (values.json) process.stdout.write(JSON.stringify(info) + '\n');
  else
    process.stdout.write(
      `RabbitMQ cluster of ${nodes} up in ${(cluster.startupMs / 1000).toFixed(1)} s (${cluster.dir})\n` +
        cluster.nodes.map((n) => `  ${n.name}  mqtt://127.0.0.1:${n.mqttPort}  amqp 127.0.0.1:${n.amqpPort}  dist ${n.distPort}\n`).join('') +
        `  administrator ${cluster.user} / ${cluster.password}; ingest queue ${INGEST_QUEUE}\n` +
        `  agent: forwarding.brokerUrls: ${JSON.stringify(cluster.mqttUrls)}\nCtrl-C stops it.\n`,
    );
}

main().catch((err: unknown) => {
  process.stderr.write(`province-cluster: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
