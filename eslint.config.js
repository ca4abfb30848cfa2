import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.demo/**', 'coverage/**', 'tests/.build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['contract/src/**', 'drivers/src/**', 'edge-agent/src/**'],
    ignores: ['**/*.test.ts', '**/main.ts', '**/cli.ts'],
    rules: { 'no-console': 'error' },
  },
);
