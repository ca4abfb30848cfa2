import type * as z from 'zod';

/** One thing wrong with a document, located by a path such as `lines[0].devices[2].unitId`. */
export interface Problem {
  path: string;
  message: string;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(root)';
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown ${issue.keys.length > 1 ? 'keys' : 'key'} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_type':
      return issue.input === undefined ? `required (${issue.expected})` : `expected ${issue.expected}, got ${typeName(issue.input)}`;
    case 'too_small':
      return issue.origin === 'array' || issue.origin === 'string' ? issue.message : `expected ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'array' || issue.origin === 'string' ? issue.message : `expected ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return issue.message;
    default:
      return issue.message;
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && !Number.isInteger(v)) return 'a fraction';
  return typeof v;
}

/**
 * One rule, one message: a value past two bounds of one field (an integer's safe range and the
 * field's own limit, e.g. 1e308 for pollIntervalMs) is reported against the tighter one only.
 */
function tightestBounds(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const best = new Map<string, z.core.$ZodIssue>();
  const keyOf = (i: z.core.$ZodIssue) => `${i.code}\u0000${formatPath(i.path)}`;
  for (const i of issues) {
    if (i.code !== 'too_big' && i.code !== 'too_small') continue;
    const prev = best.get(keyOf(i));
    const bound = (x: z.core.$ZodIssue) => Number(x.code === 'too_big' ? x.maximum : x.code === 'too_small' ? x.minimum : NaN);
    if (!prev || (i.code === 'too_big' ? bound(i) < bound(prev) : bound(i) > bound(prev))) best.set(keyOf(i), i);
  }
  return issues.filter((i) => (i.code !== 'too_big' && i.code !== 'too_small') || best.get(keyOf(i)) === i);
}

/** Every issue of a failed parse, with prefix prepended to its path. */
export function problemsFromZod(error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): Problem[] {
  return tightestBounds(error.issues).map((issue) => {
    if (issue.code === 'invalid_union' && 'options' in issue && Array.isArray(issue.options)) {
      return { path: formatPath([...prefix, ...issue.path]), message: `expected one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}` };
    }
    return { path: formatPath([...prefix, ...issue.path]), message: describe(issue) };
  });
}

export function formatProblems(problems: readonly Problem[], source?: string): string {
  const head = source ? `${source}: ` : '';
  return problems.map((p) => `${head}${p.path}: ${p.message}`).join('\n');
}
