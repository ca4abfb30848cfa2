import jsep from 'jsep';

/**
 * Expressions users write in the gateway configuration (a derived reading `distance * 0.001`, a
 * condition `pm2_5 > 150 && humidity < 90`). Parsed by jsep (a parser only: it never runs code)
 * and evaluated by the small tree walker below over a whitelist of node types, operators and
 * functions. There is no eval / new Function, no member access at all (so no `constructor`,
 * `__proto__` or prototype walk), no assignment, no calls but the listed Math functions, and
 * variables are looked up in a Map, never on an object's prototype chain. Why not expr-eval:
 * its 2.0.2 release has an unfixed prototype-pollution advisory (CVE-2025-12735) and no
 * maintained line; jsep is maintained, small, and leaves evaluation to us.
 */

export const MAX_EXPRESSION_LENGTH = 500;
const MAX_NODES = 200;
const MAX_DEPTH = 24;

const FUNCTIONS: ReadonlyMap<string, { arity: [number, number]; fn: (...a: number[]) => number }> = new Map([
  ['abs', { arity: [1, 1], fn: Math.abs }],
  ['min', { arity: [1, 16], fn: Math.min }],
  ['max', { arity: [1, 16], fn: Math.max }],
  ['round', { arity: [1, 1], fn: Math.round }],
  ['floor', { arity: [1, 1], fn: Math.floor }],
  ['ceil', { arity: [1, 1], fn: Math.ceil }],
  ['sqrt', { arity: [1, 1], fn: Math.sqrt }],
  ['pow', { arity: [2, 2], fn: Math.pow }],
  ['log10', { arity: [1, 1], fn: Math.log10 }],
  ['clamp', { arity: [3, 3], fn: (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x)) }],
] as const);

type Value = number | boolean;
type Node = (vars: ReadonlyMap<string, Value>) => Value;

const BINARY: Readonly<Record<string, (a: Value, b: Value) => Value>> = Object.freeze({
  '+': (a, b) => Number(a) + Number(b),
  '-': (a, b) => Number(a) - Number(b),
  '*': (a, b) => Number(a) * Number(b),
  '/': (a, b) => Number(a) / Number(b),
  '%': (a, b) => Number(a) % Number(b),
  '<': (a, b) => Number(a) < Number(b),
  '<=': (a, b) => Number(a) <= Number(b),
  '>': (a, b) => Number(a) > Number(b),
  '>=': (a, b) => Number(a) >= Number(b),
  '==': (a, b) => Number(a) === Number(b),
  '!=': (a, b) => Number(a) !== Number(b),
});

/** Names an expression may never use, even as a variable: they mean something to JavaScript objects. */
const FORBIDDEN_NAMES = new Set(['constructor', '__proto__', 'prototype', 'this', 'globalThis', 'process', 'require', 'eval', 'Function']);
const VARIABLE = /^[a-z][a-z0-9_]{0,63}$/;

export class ExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpressionError';
  }
}

export interface CompiledExpression {
  readonly source: string;
  /** Variables the expression reads, e.g. ["distance"]. */
  readonly variables: readonly string[];
  /** Evaluates with the given variables; throws ExpressionError when one is missing. */
  evaluate(vars: ReadonlyMap<string, Value>): Value;
}

/** Parses and checks an expression; throws ExpressionError saying what is not allowed. */
export function compileExpression(source: string): CompiledExpression {
  if (typeof source !== 'string' || source.trim() === '') throw new ExpressionError('empty expression');
  if (source.length > MAX_EXPRESSION_LENGTH) throw new ExpressionError(`expression longer than ${MAX_EXPRESSION_LENGTH} characters`);
  let ast: jsep.Expression;
  try {
    ast = jsep(source);
  } catch (err) {
    throw new ExpressionError(`cannot parse: ${(err as Error).message}`);
  }
  if (countNodes(ast) > MAX_NODES) throw new ExpressionError(`expression has more than ${MAX_NODES} parts`);
  const variables = new Set<string>();
  const build = (n: jsep.Expression, depth: number): Node => {
    if (depth > MAX_DEPTH) throw new ExpressionError(`expression nests deeper than ${MAX_DEPTH}`);
    switch (n.type) {
      case 'Literal': {
        const v = (n as jsep.Literal).value;
        if (typeof v !== 'number' && typeof v !== 'boolean') throw new ExpressionError(`only numbers and true/false are allowed, not ${JSON.stringify(v)}`);
        return () => v;
      }
      case 'Identifier': {
        const name = (n as jsep.Identifier).name;
        if (FORBIDDEN_NAMES.has(name)) throw new ExpressionError(`"${name}" is not allowed`);
        if (!VARIABLE.test(name)) throw new ExpressionError(`"${name}" is not a variable name (lowercase letters, digits, "_")`);
        variables.add(name);
        return (vars) => {
          const v = vars.get(name);
          if (v === undefined) throw new ExpressionError(`no value for "${name}"`);
          return v;
        };
      }
      case 'UnaryExpression': {
        const u = n as jsep.UnaryExpression;
        const arg = build(u.argument, depth + 1);
        if (u.operator === '-') return (vars) => -Number(arg(vars));
        if (u.operator === '+') return (vars) => Number(arg(vars));
        if (u.operator === '!') return (vars) => !truthy(arg(vars));
        throw new ExpressionError(`operator "${u.operator}" is not allowed`);
      }
      case 'BinaryExpression': {
        const b = n as jsep.BinaryExpression;
        const left = build(b.left, depth + 1);
        const right = build(b.right, depth + 1);
        if (b.operator === '&&') return (vars) => truthy(left(vars)) && truthy(right(vars));
        if (b.operator === '||') return (vars) => truthy(left(vars)) || truthy(right(vars));
        const op = Object.hasOwn(BINARY, b.operator) ? BINARY[b.operator] : undefined;
        if (!op) throw new ExpressionError(`operator "${b.operator}" is not allowed`);
        return (vars) => op(left(vars), right(vars));
      }
      case 'ConditionalExpression': {
        const c = n as jsep.ConditionalExpression;
        const test = build(c.test, depth + 1);
        const yes = build(c.consequent, depth + 1);
        const no = build(c.alternate, depth + 1);
        return (vars) => (truthy(test(vars)) ? yes(vars) : no(vars));
      }
      case 'CallExpression': {
        const call = n as jsep.CallExpression;
        if (call.callee.type !== 'Identifier') throw new ExpressionError('only calls of the listed functions are allowed');
        const name = (call.callee as jsep.Identifier).name;
        const f = FUNCTIONS.get(name);
        if (!f) throw new ExpressionError(`unknown function "${name}" (allowed: ${[...FUNCTIONS.keys()].join(', ')})`);
        const [lo, hi] = f.arity;
        if (call.arguments.length < lo || call.arguments.length > hi) throw new ExpressionError(`${name}() takes ${lo === hi ? lo : `${lo}..${hi}`} arguments`);
        const args = call.arguments.map((a) => build(a, depth + 1));
        return (vars) => f.fn(...args.map((a) => Number(a(vars))));
      }
      case 'MemberExpression':
        throw new ExpressionError('property access (".", "[]") is not allowed');
      default:
        throw new ExpressionError(`${n.type} is not allowed`);
    }
  };
  const root = build(ast, 0);
  return Object.freeze({ source, variables: Object.freeze([...variables]), evaluate: (vars: ReadonlyMap<string, Value>) => root(vars) });
}

/** Nodes of a parsed tree, counted without recursion (a long chain is deep). */
function countNodes(root: jsep.Expression): number {
  let count = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0 && count <= MAX_NODES) {
    const n = stack.pop();
    if (Array.isArray(n)) stack.push(...(n as unknown[]));
    else if (n && typeof n === 'object' && typeof (n as { type?: unknown }).type === 'string') {
      count++;
      for (const [k, v] of Object.entries(n)) if (k !== 'type' && v && typeof v === 'object') stack.push(v);
    }
  }
  return count;
}

function truthy(v: Value): boolean {
  return typeof v === 'boolean' ? v : v !== 0 && !Number.isNaN(v);
}

/** The problem with an expression, or undefined when it compiles (for schema refinements). */
export function expressionProblem(source: string): string | undefined {
  try {
    compileExpression(source);
    return undefined;
  } catch (err) {
    if (err instanceof ExpressionError) return err.message;
    throw err;
  }
}
