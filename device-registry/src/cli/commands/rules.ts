import { readFileSync } from 'node:fs';
import { parseDocumentText } from '@cityedge/contract';
import { CommandFailure, type CommandSpec } from '../command.js';
import { formatTime } from '../time-zones.js';

const KINDS = ['flood', 'aqi', 'lighting', 'derived'] as const;

/** "1 flood station, 2 lighting groups" */
function summary(rules: Record<string, unknown>): string {
  const names: Record<(typeof KINDS)[number], [string, string]> = { flood: ['flood station', 'flood stations'], aqi: ['air-quality station', 'air-quality stations'], lighting: ['lighting group', 'lighting groups'], derived: ['derived reading', 'derived readings'] };
  const parts = KINDS.flatMap((k) => {
    const n = Array.isArray(rules[k]) ? (rules[k] as unknown[]).length : 0;
    return n === 0 ? [] : [`${n} ${names[k][n === 1 ? 0 : 1]}`];
  });
  return parts.join(', ') || 'no rules';
}

/** The ids of each kind, for `rules show`. */
function ids(rules: Record<string, unknown>, kind: (typeof KINDS)[number]): string {
  const list = Array.isArray(rules[kind]) ? (rules[kind] as Array<Record<string, unknown>>) : [];
  return list.map((r) => String(r.id ?? `${String(r.dev)}/${String(r.pt)}`)).join(', ');
}

/** Reads a rules file (YAML or JSON): the `rules` section itself, or a whole configuration document's `rules`. */
function readRules(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CommandFailure(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const parsed = parseDocumentText(text);
  if (!parsed.ok) throw new CommandFailure(parsed.problems.map((p) => `${file}: ${p.path}: ${p.message}`).join('; '));
  const doc = parsed.value;
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new CommandFailure(`${file}: expected a mapping with flood, aqi, lighting or derived`);
  const inner = (doc as Record<string, unknown>).rules;
  return inner !== null && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : (doc as Record<string, unknown>);
}

export const rulesCommands: CommandSpec[] = [
  {
    group: 'rules',
    name: 'set',
    args: ['gateway', 'file'],
    summary: "replace a gateway's rules with a YAML or JSON file (sent with its next config push)",
    help: ['<file>               the rules section (flood: [...], aqi: [...], lighting: [...], derived: [...]), or a', '                     configuration document whose "rules" is taken'],
    options: {},
    async run({ args, client, out }) {
      const rules = readRules(args[1]!);
      const saved = await client.putRules(args[0]!, rules);
      if (out.json) out.data(saved);
      else out.line(`rules of ${args[0]} set: ${summary(saved.rules)}; push them with: edgectl config push ${args[0]}`);
      return 0;
    },
  },
  {
    group: 'rules',
    name: 'show',
    args: ['gateway'],
    summary: "show a gateway's rules",
    options: {},
    async run({ args, client, out, zones }) {
      const r = await client.getRules(args[0]!);
      if (out.json) {
        out.data(r);
        return 0;
      }
      const zone = await zones.forGateway(args[0]!);
      out.fields([
        ['gateway', r.gatewayId],
        ['rules', summary(r.rules)],
        ...KINDS.filter((k) => ids(r.rules, k) !== '').map((k) => [k, ids(r.rules, k)] as const),
        ['updated', `${formatTime(r.updatedAt, zone)} by ${r.updatedBy}`],
      ]);
      out.line();
      out.line(JSON.stringify(r.rules, null, 2));
      return 0;
    },
  },
  {
    group: 'rules',
    name: 'clear',
    args: ['gateway'],
    summary: "remove a gateway's rules; its next config push has none",
    options: {},
    async run({ args, client, out }) {
      await client.deleteRules(args[0]!);
      if (out.json) out.data({ gatewayId: args[0], cleared: true });
      else out.line(`rules of ${args[0]} cleared; push with: edgectl config push ${args[0]}`);
      return 0;
    },
  },
];
