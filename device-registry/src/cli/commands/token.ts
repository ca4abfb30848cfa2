import { oneOf, UsageError, type CommandSpec } from '../command.js';
import { formatTime } from '../time-zones.js';

const ROLES = ['viewer', 'technician', 'admin'] as const;

export const tokenCommands: CommandSpec[] = [
  {
    group: 'token',
    name: 'create',
    args: ['name'],
    synopsis: '--role viewer|technician|admin',
    summary: 'create an API token (admin); the token is shown only this once',
    options: { role: { type: 'string' } },
    async run({ args, flags, client, out }) {
      const role = oneOf(flags, 'role', ROLES);
      if (role === undefined) throw new UsageError(`--role: missing; expected one of ${ROLES.join(', ')}`);
      const t = await client.createToken(args[0]!, role);
      if (out.json) out.data(t);
      else {
        out.line(`token ${t.id} created for ${t.name} (${t.role}); shown only this once, store it now:`);
        out.line();
        out.line(`  ${t.token}`);
      }
      return 0;
    },
  },
  {
    group: 'token',
    name: 'list',
    args: [],
    summary: 'list API tokens (admin)',
    options: {},
    async run({ client, out, zones }) {
      const ts = await client.listTokens();
      if (out.json) out.data(ts);
      else out.table(['TOKEN ID', 'NAME', 'ROLE', 'CREATED', 'BY', 'REVOKED'], ts.map((t) => [t.id, t.name, t.role, formatTime(t.createdAt, zones.fallback), t.createdBy, formatTime(t.revokedAt, zones.fallback)]));
      return 0;
    },
  },
  {
    group: 'token',
    name: 'revoke',
    args: ['tokenId'],
    summary: 'revoke an API token (admin); the last admin token cannot be revoked',
    options: {},
    async run({ args, client, out }) {
      await client.revokeToken(args[0]!);
      if (out.json) out.data({ id: args[0], revoked: true });
      else out.line(`token ${args[0]} revoked`);
      return 0;
    },
  },
];
