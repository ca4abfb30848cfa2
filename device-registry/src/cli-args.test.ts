import { describe, expect, it } from 'vitest';
import { parseRegistryArgs } from './cli-args.js';

describe('registry command line', () => {
  it('has defaults for a single machine', () => {
    const r = parseRegistryArgs([], {});
    expect(r).toMatchObject({ ok: true, help: false, options: { dataDir: '/var/lib/cityedge-registry', host: '127.0.0.1', port: 8780, broker: 'embedded', mqttPort: 1883, brokerUrl: undefined, topicPrefix: 'edge/v1', databaseUrl: undefined } });
  });

  it('takes the data directory from systemd and the database and admin token from the environment', () => {
    const r = parseRegistryArgs(['--port', '0'], { STATE_DIRECTORY: '/var/lib/reg:/other', REGISTRY_DATABASE_URL: 'postgres://r@db:5432/reg', REGISTRY_ADMIN_TOKEN: 'a'.repeat(24) });
    expect(r).toMatchObject({ ok: true, options: { dataDir: '/var/lib/reg', port: 0, databaseUrl: 'postgres://r@db:5432/reg', adminToken: 'a'.repeat(24) } });
  });

  it('takes a console admin account from --admin-user and CITYEDGE_ADMIN_PASSWORD', () => {
    expect(parseRegistryArgs(['--admin-user', 'admin'], { CITYEDGE_ADMIN_PASSWORD: 'long enough' })).toMatchObject({ ok: true, options: { adminAccount: { username: 'admin', password: 'long enough' } } });
    expect(parseRegistryArgs([], { CITYEDGE_ADMIN_PASSWORD: 'long enough' })).toMatchObject({ ok: true, options: { adminAccount: undefined } });
    const noPassword = parseRegistryArgs(['--admin-user', 'admin'], {});
    expect(!noPassword.ok && noPassword.message).toMatch(/CITYEDGE_ADMIN_PASSWORD: required with --admin-user/);
    const badName = parseRegistryArgs(['--admin-user', 'Ad Min'], { CITYEDGE_ADMIN_PASSWORD: 'long enough' });
    expect(!badName.ok && badName.message).toMatch(/--admin-user: expected/);
  });

  it.each([
    [['--port', '80a'], /--port: expected 0..65535/],
    [['--port', '70000'], /--port/],
    [['--broker-url', 'http://x'], /--broker-url: expected mqtt/],
    [['--database-url', 'mysql://x'], /--database-url: expected postgres/],
    [['--public-url', 'ftp://x'], /--public-url/],
    [['--topic-prefix', 'edge/#'], /--topic-prefix/],
    [['--log-level', 'loud'], /--log-level: expected one of/],
    [['--colour'], /Unknown option '--colour'/],
    [['stray'], /positional/],
  ])('refuses %j with a message naming the flag', (argv, message) => {
    const r = parseRegistryArgs(argv, {});
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(message);
  });

  it('takes --broker rabbitmq with where the registry connects, the auth endpoints\' listener, and every node\'s URL for gateways', () => {
    const r = parseRegistryArgs(['--broker', 'rabbitmq', '--broker-url', 'mqtt://127.0.0.1:1884', '--gateway-broker-url', 'mqtt://n1:1883, mqtt://n2:1883,mqtt://n3:1883'], {});
    expect(r).toMatchObject({ ok: true, options: { broker: 'rabbitmq', brokerUrl: 'mqtt://127.0.0.1:1884', gatewayBrokerUrl: 'mqtt://n1:1883', gatewayBrokerUrls: ['mqtt://n1:1883', 'mqtt://n2:1883', 'mqtt://n3:1883'], rabbitmqAuth: { host: '127.0.0.1', port: 8781, secret: undefined } } });
    expect(parseRegistryArgs(['--broker', 'rabbitmq'], {})).toMatchObject({ ok: false, message: expect.stringMatching(/^--broker-url: required with --broker rabbitmq/) });
    expect(parseRegistryArgs(['--broker', 'rabbitmq', '--broker-url', 'mqtt://r:1883', '--rabbitmq-auth-host', '0.0.0.0'], {})).toMatchObject({ ok: false, message: expect.stringMatching(/^RABBITMQ_AUTH_SECRET: required/) });
    expect(parseRegistryArgs(['--broker', 'rabbitmq', '--broker-url', 'mqtt://r:1883', '--rabbitmq-auth-host', '0.0.0.0'], { RABBITMQ_AUTH_SECRET: 'short' })).toMatchObject({ ok: false, message: expect.stringMatching(/^RABBITMQ_AUTH_SECRET: expected at least 16/) });
    expect(parseRegistryArgs(['--broker', 'rabbitmq', '--broker-url', 'mqtt://r:1883', '--rabbitmq-auth-host', '0.0.0.0'], { RABBITMQ_AUTH_SECRET: 'a-long-enough-secret-1' })).toMatchObject({ ok: true, options: { rabbitmqAuth: { host: '0.0.0.0', secret: 'a-long-enough-secret-1' } } });
    expect(parseRegistryArgs(['--broker', 'rabbitmq', '--broker-url', 'mqtt://r:1883', '--rabbitmq-auth-port', 'x'], {})).toMatchObject({ ok: false, message: expect.stringMatching(/^--rabbitmq-auth-port/) });
    expect(parseRegistryArgs(['--gateway-broker-url', 'mqtt://a:1,https://b'], {})).toMatchObject({ ok: false, message: expect.stringMatching(/^--gateway-broker-url: expected mqtt.*"https:\/\/b"/) });
  });

  it('takes every node of a RabbitMQ cluster in --broker-url: the registry moves between them, gateways are told all of them', () => {
    const r = parseRegistryArgs(['--broker', 'rabbitmq', '--broker-url', 'mqtt://n1:1883, mqtt://n2:1883,mqtt://n3:1883'], {});
    expect(r).toMatchObject({ ok: true, options: { brokerUrl: 'mqtt://n1:1883', brokerOtherUrls: ['mqtt://n2:1883', 'mqtt://n3:1883'], gatewayBrokerUrl: 'mqtt://n1:1883', gatewayBrokerUrls: ['mqtt://n1:1883', 'mqtt://n2:1883', 'mqtt://n3:1883'] } });
    const own = parseRegistryArgs(['--broker', 'rabbitmq', '--broker-url', 'mqtt://n1:1883,mqtt://n2:1883', '--gateway-broker-url', 'mqtts://b1:8883,mqtts://b2:8883'], {});
    expect(own).toMatchObject({ ok: true, options: { brokerOtherUrls: ['mqtt://n2:1883'], gatewayBrokerUrls: ['mqtts://b1:8883', 'mqtts://b2:8883'] } });
    expect(parseRegistryArgs(['--broker', 'rabbitmq', '--broker-url', 'mqtt://n1:1883'], {})).toMatchObject({ ok: true, options: { brokerOtherUrls: undefined, gatewayBrokerUrls: undefined } });
    expect(parseRegistryArgs(['--broker', 'rabbitmq', '--broker-url', 'mqtt://n1:1883,tcp://n2'], {})).toMatchObject({ ok: false, message: expect.stringMatching(/^--broker-url: expected mqtt.*"tcp:\/\/n2"/) });
    expect(parseRegistryArgs(['--broker', 'mosquitto', '--broker-url', 'mqtt://a:1883,mqtt://b:1883'], { DYNSEC_ADMIN_PASSWORD: 'x' })).toMatchObject({ ok: false, message: expect.stringMatching(/^--broker-url: several URLs are for a cluster \(--broker rabbitmq\)/) });
  });

  it('tells gateways a broker URL of their own, distinct from where the registry connects', () => {
    const env = { DYNSEC_ADMIN_PASSWORD: 'x' };
    const split = parseRegistryArgs(['--broker', 'mosquitto', '--broker-url', 'mqtt://mosquitto:1883', '--gateway-broker-url', 'mqtts://broker.ioc.example.vn:8883'], env);
    expect(split).toMatchObject({ ok: true, options: { brokerUrl: 'mqtt://mosquitto:1883', gatewayBrokerUrl: 'mqtts://broker.ioc.example.vn:8883' } });
    const fromEnv = parseRegistryArgs(['--broker', 'mosquitto', '--broker-url', 'mqtt://mosquitto:1883'], { ...env, REGISTRY_GATEWAY_BROKER_URL: 'mqtts://broker.ioc.example.vn:8883' });
    expect(fromEnv).toMatchObject({ ok: true, options: { brokerUrl: 'mqtt://mosquitto:1883', gatewayBrokerUrl: 'mqtts://broker.ioc.example.vn:8883' } });
    // Without it, gateways are told --broker-url (as before), and in embedded mode the broker's own address.
    expect(parseRegistryArgs(['--broker', 'mosquitto', '--broker-url', 'mqtts://b:8883'], env)).toMatchObject({ ok: true, options: { gatewayBrokerUrl: 'mqtts://b:8883' } });
    expect(parseRegistryArgs([], {})).toMatchObject({ ok: true, options: { gatewayBrokerUrl: undefined } });
    expect(parseRegistryArgs(['--gateway-broker-url', 'https://b'], {})).toMatchObject({ ok: false, message: expect.stringMatching(/^--gateway-broker-url: expected mqtt/) });
    expect(parseRegistryArgs([], { REGISTRY_GATEWAY_BROKER_URL: 'b:8883' })).toMatchObject({ ok: false, message: expect.stringMatching(/^REGISTRY_GATEWAY_BROKER_URL: expected mqtt/) });
  });

  it('refuses a short REGISTRY_ADMIN_TOKEN', () => {
    expect(parseRegistryArgs([], { REGISTRY_ADMIN_TOKEN: 'short' })).toEqual({ ok: false, message: 'REGISTRY_ADMIN_TOKEN: must be at least 20 characters' });
  });
});
