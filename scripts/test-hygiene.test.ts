// The test suites keep their own rules: a test waits for the outcome it expects (common/wait.ts),
// never for a guessed time, and a fixed sleep is allowed only where the time itself is the
// stimulus, said in a comment on that line or the one above. One waiting helper: no test file
// defines its own waitFor/until/sleep.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './stack.ts';

const TEST_DIRS = ['protocol', 'common', 'bridge', 'server', 'src', 'e2e', 'scripts', 'deploy', 'docs', 'firmware'];

/** Every TypeScript, JavaScript module and shell source under `dir`, this file aside. */
function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.') || name === 'results') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|mjs|sh)$/.test(name) && !p.endsWith('scripts/test-hygiene.test.ts')) out.push(p);
  }
  return out;
}

/** Test files, and the helpers that live in test folders (harnesses, fakes); fixtures aside. */
const isTestSource = (p: string): boolean => {
  const rel = `/${relative(ROOT, p)}`;
  return p.endsWith('.ts') && !rel.includes('/fixtures/') && (p.endsWith('.test.ts') || /\/(test|e2e)\//.test(rel));
};
const files = TEST_DIRS.flatMap((d) => sources(join(ROOT, d))).filter(isTestSource);

/**
 * A wait on the wall clock: sleep(…), page.waitForTimeout(…), a bare promise around setTimeout
 * (resolving directly or through an arrow), or node:timers/promises (a timeout race belongs in
 * common/wait's `within`).
 */
const FIXED_WAIT = /\bsleep\(\s*[^)]|\.waitForTimeout\(|new Promise[^;]*setTimeout\(\s*(\(\)\s*=>\s*)?(r|res|resolve)\b|node:timers\/promises/;

test('every fixed wait in a test is a stimulus and says so', () => {
  const offenders: string[] = [];
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!FIXED_WAIT.test(line) || /^\s*(\/\/|\*)/.test(line)) return;
      const said = /stimulus/i.test(line) || /stimulus/i.test(lines[i - 1] ?? '');
      if (!said) offenders.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, [], `fixed waits that do not say they are the stimulus (wait for the outcome with common/wait.ts instead):\n${offenders.join('\n')}`);
});

test('no test file brings its own waiting helper', () => {
  const own = /^\s*(export\s+)?(async\s+)?(function\s+(waitFor|until|sleep)\b|const\s+(waitFor|until|sleep)\s*=)/m;
  const offenders = files.filter((f) => own.test(readFileSync(f, 'utf8'))).map((f) => relative(ROOT, f));
  assert.deepEqual(offenders, [], 'use common/wait.ts');
});

test('no code cites an issue number or "the seed": a comment says the rule itself (v1 behaviour points to docs/MIGRATION.md)', () => {
  const code = ['protocol', 'common', 'bridge', 'server', 'src', 'scripts', 'deploy', 'e2e', 'bench'].flatMap((d) => sources(join(ROOT, d)));
  const offenders: string[] = [];
  for (const file of code) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (/\bissue #?\d+|\bthe seed\b|\bseed's\b/i.test(line)) offenders.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, []);
});

test('the rule catches what it is meant to catch', () => {
  assert.ok(FIXED_WAIT.test('    await sleep(150);'));
  assert.ok(FIXED_WAIT.test("  await page.waitForTimeout(500);"));
  assert.ok(FIXED_WAIT.test('    await new Promise((r) => setTimeout(r, 80));'));
  assert.ok(FIXED_WAIT.test("    await new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000));"));
  assert.ok(FIXED_WAIT.test("import { setTimeout as delay } from 'node:timers/promises';"));
  assert.ok(!FIXED_WAIT.test("    await waitFor('the stop', () => rig.simState(), (s) => s.left === 0);"));
  assert.ok(!FIXED_WAIT.test('    const timer = setTimeout(() => ac.abort(), ms);'));
});
