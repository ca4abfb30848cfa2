import { describe, expect, it } from 'vitest';
import { compileExpression, expressionProblem, MAX_EXPRESSION_LENGTH } from './safe-expression.js';

const vars = (o: Record<string, number | boolean>) => new Map(Object.entries(o));

describe('safe expressions', () => {
  it('evaluates arithmetic, comparisons, logic, the ternary and whitelisted functions', () => {
    expect(compileExpression('distance * 0.001').evaluate(vars({ distance: 2500 }))).toBeCloseTo(2.5, 12);
    expect(compileExpression('pm2_5 > 150 && humidity < 90').evaluate(vars({ pm2_5: 151, humidity: 80 }))).toBe(true);
    expect(compileExpression('!(a >= 2) || b == 3').evaluate(vars({ a: 5, b: 3 }))).toBe(true);
    expect(compileExpression('a > 1 ? max(a, b) : -abs(b)').evaluate(vars({ a: 0, b: -4 }))).toBe(-4);
    expect(compileExpression('clamp(round(x / 10) * 10, 0, 100)').evaluate(vars({ x: 234 }))).toBe(100);
    expect(compileExpression('level').variables).toEqual(['level']);
    expect(compileExpression('a + b * a').variables).toEqual(['a', 'b']);
  });

  it('says which variable has no value', () => {
    expect(() => compileExpression('a + b').evaluate(vars({ a: 1 }))).toThrow('no value for "b"');
  });

  it.each([
    ['constructor', '"constructor" is not allowed'],
    ['__proto__', '"__proto__" is not allowed'],
    ['a.constructor', 'property access'],
    ['a["constructor"]', 'property access'],
    ['toString.constructor("return process")()', 'only calls of the listed functions'],
    ['constructor.constructor("return 1")()', 'only calls of the listed functions'],
    ['this', 'not allowed'],
    ['process', '"process" is not allowed'],
    ['Math.max(1, 2)', 'only calls of the listed functions'],
    ['eval("1")', 'unknown function "eval"'],
    ['alert(1)', 'unknown function "alert"'],
    ['"text"', 'only numbers'],
    ['[1, 2]', 'ArrayExpression is not allowed'],
    ['a = 1', 'cannot parse'],
    ['a, b', 'Compound is not allowed'],
    ['a | 1', 'operator "|" is not allowed'],
    ['~a', 'operator "~" is not allowed'],
    ['', 'empty expression'],
    ['max()', 'max() takes 1..16 arguments'],
  ])('refuses %j', (src, message) => {
    expect(expressionProblem(src)).toContain(message);
  });

  it('refuses very long or deeply nested input without evaluating it', () => {
    expect(expressionProblem(`a${' + a'.repeat(MAX_EXPRESSION_LENGTH)}`)).toContain(`longer than ${MAX_EXPRESSION_LENGTH}`);
    expect(expressionProblem(`${'('.repeat(40)}a${')'.repeat(40)}`)).toBeUndefined(); // parentheses are not nodes
    expect(expressionProblem(`${'-'.repeat(60)}a`)).toContain('nests deeper');
    expect(expressionProblem(Array.from({ length: 120 }, (_, i) => `v${i}`).join('+'))).toContain('more than 200 parts');
  });

  it('never reads variables from the prototype chain', () => {
    const e = compileExpression('valueof');
    expect(() => e.evaluate(new Map())).toThrow('no value');
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
