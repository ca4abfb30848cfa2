import { randomBytes } from 'node:crypto';
import { oneOf, str, UsageError, type CommandSpec } from '../command.js';
import { formatTime } from '../time-zones.js';

const ROLES = ['viewer', 'technician', 'admin'] as const;

/** A password to read aloud or type on a phone: 16 characters of base32 in groups of four (80 bits). */
function newPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(16);
  let out = '';
  for (let i = 0; i < 16; i++) out += (i > 0 && i % 4 === 0 ? '-' : '') + alphabet[bytes[i]! % alphabet.length];
  return out;
}

export const accountCommands: CommandSpec[] = [
  {
    group: 'accounts',
    name: 'add',
    args: ['username'],
    synopsis: '--role viewer|technician|admin [--name <display name>]',
    summary: 'create a console account (admin); its password is generated and shown only this once',
    options: { role: { type: 'string' }, name: { type: 'string' } },
    async run({ args, flags, client, out }) {
      const role = oneOf(flags, 'role', ROLES);
      if (role === undefined) throw new UsageError(`--role: missing; expected one of ${ROLES.join(', ')}`);
      const password = newPassword();
      const name = str(flags, 'name');
      const a = await client.createAccount({ username: args[0]!, role, password, ...(name !== undefined && { displayName: name }) });
      if (out.json) out.data({ ...a, password });
      else {
        out.line(`account ${a.username} (${a.role}) created; its password, shown only this once (change it in the console):`);
        out.line();
        out.line(`  ${password}`);
      }
      return 0;
    },
  },
  {
    group: 'accounts',
    name: 'list',
    args: [],
    summary: 'list console accounts (admin)',
    options: {},
    async run({ client, out, zones }) {
      const as = await client.listAccounts();
      if (out.json) out.data(as);
      else out.table(['USERNAME', 'NAME', 'ROLE', 'STATE', 'CREATED', 'BY'], as.map((a) => [a.username, a.displayName, a.role, a.disabled ? 'disabled' : 'active', formatTime(a.createdAt, zones.fallback), a.createdBy]));
      return 0;
    },
  },
  ...(['disable', 'enable'] as const).map(
    (verb): CommandSpec => ({
      group: 'accounts',
      name: verb,
      args: ['username'],
      summary: verb === 'disable' ? 'disable a console account (admin): it cannot sign in and its sessions end' : 'enable a disabled console account again (admin)',
      options: {},
      async run({ args, client, out }) {
        const a = await client.updateAccount(args[0]!, { disabled: verb === 'disable' });
        if (out.json) out.data(a);
        else out.line(`account ${a.username} ${verb}d`);
        return 0;
      },
    }),
  ),
  {
    group: 'accounts',
    name: 'passwd',
    args: ['username'],
    summary: "set a new generated password for a console account (admin), shown only this once; the account's sessions end",
    options: {},
    async run({ args, client, out }) {
      const password = newPassword();
      await client.setAccountPassword(args[0]!, password);
      if (out.json) out.data({ username: args[0], password });
      else {
        out.line(`new password of ${args[0]}, shown only this once:`);
        out.line();
        out.line(`  ${password}`);
      }
      return 0;
    },
  },
];
