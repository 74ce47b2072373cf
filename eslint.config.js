// Lint: the rules that catch real bugs here (a promise nobody awaits, a switch that forgot a case
// of a union, code nobody uses), plus the size rule that keeps product functions readable.
// Type-aware: it reads both tsconfigs through the project service.
import tseslint from 'typescript-eslint';

const PRODUCT = ['bridge/**/*.ts', 'server/**/*.ts', 'src/**/*.ts', 'protocol/**/*.ts', 'common/**/*.ts'];
const TESTS = ['**/*.test.ts', '**/test/**', 'e2e/**', 'bench/**', 'bridge/sim/fixtures/**'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'build/**', 'dev-dist/**', 'firmware/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { project: ['./tsconfig.json', './tsconfig.node.json'], tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-unused-private-class-members': 'error',
      'no-unreachable': 'error',
    },
  },
  {
    // @open-wc/testing's chai plugins merge an Assertion overload that returns a Promise, so every
    // `expect(x).to.equal(y)` in a browser test reads as a floating promise.
    files: ['src/**/*.test.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: PRODUCT,
    ignores: TESTS,
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
);
