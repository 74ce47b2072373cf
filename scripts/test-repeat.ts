// `npm run test:repeat -- <file…> [--times N] [--busy]`: runs each test file N times, each run in
// fresh processes, and prints per test how many runs failed and the first failure's message. For
// the next person who sees a flake: a test that fails once in twenty shows here, with its message.
// node:test files (bridge, relay, e2e, …) run under node; src/ files under web-test-runner.
// --busy keeps one core busy with a spin loop meanwhile, as a loaded CI machine would.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './stack.ts';

interface Result { file: string; name: string; passed: boolean; skipped: boolean; ms?: number; error?: string }
interface Tally { runs: number; failed: number; ms: number; firstError?: string; firstRun?: number }

function parseArgs(argv: string[]): { files: string[]; times: number; busy: boolean } {
  const files: string[] = [];
  let times = 10;
  let busy = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--times') times = Number(argv[++i]);
    else if (a.startsWith('--times=')) times = Number(a.slice(8));
    else if (a === '--busy') busy = true;
    else files.push(relative(ROOT, resolve(a)));
  }
  const missing = files.filter((f) => !existsSync(join(ROOT, f)));
  if (missing.length) {
    console.error(`no such test file: ${missing.join(', ')}`);
    process.exit(2);
  }
  if (!files.length || !Number.isInteger(times) || times < 1) {
    console.error('usage: npm run test:repeat -- <test file…> [--times N] [--busy]');
    process.exit(2);
  }
  return { files, times, busy };
}

/**
 * One run of `files` (node:test starts a fresh process per file; web-test-runner a fresh page);
 * resolves every test's result, and a run that died without naming a failed test fails as a whole.
 */
function runOnce(files: string[], browser: boolean): Promise<Result[]> {
  const args = browser
    ? ['node_modules/@web/test-runner/dist/bin.js', '--config', 'web-test-runner.config.mjs', '--files', ...files]
    : ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=./scripts/repeat-reporter.mjs', ...files];
  return new Promise((done) => {
    const child = spawn('node', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HAVATAR_TEST_RESULTS: '1', FORCE_COLOR: '0' } });
    const results: Result[] = [];
    const tail: string[] = [];
    const onLine = (line: string) => {
      if (line.startsWith('HAVATAR-RESULT ')) results.push(JSON.parse(line.slice('HAVATAR-RESULT '.length)) as Result);
      else { tail.push(line); if (tail.length > 20) tail.shift(); }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.on('close', (code) => {
      if (code !== 0 && !results.some((r) => !r.passed)) {
        results.push({ file: files.join(' '), name: `(the run exited with ${code})`, passed: false, skipped: false, error: tail.filter((l) => l.trim() && !/^\s+at /.test(l)).slice(-3).join(' | ').slice(0, 500) });
      }
      done(results);
    });
  });
}

function startBusyLoop(): () => void {
  // Spins, but looks up every 200 ms: once this runner is gone (killed, Ctrl-C) it stops too,
  // instead of burning a core until someone notices.
  const spin = spawn(process.execPath, ['-e', 'const p = process.ppid; for (;;) { const t = Date.now(); while (Date.now() - t < 200); if (process.ppid !== p) process.exit(0); }'], { stdio: 'ignore' });
  return () => spin.kill('SIGKILL');
}

const { files, times, busy } = parseArgs(process.argv.slice(2));
const stopBusy = busy ? startBusyLoop() : () => {};
process.on('exit', stopBusy);
const tallies = new Map<string, Tally>();
const started = Date.now();
const groups = [files.filter((f) => !f.startsWith('src/')), files.filter((f) => f.startsWith('src/'))].filter((g) => g.length);
for (let run = 1; run <= times; run++) {
  for (const group of groups) {
    const t0 = Date.now();
    const results = await runOnce(group, group[0]!.startsWith('src/'));
    const failed = results.filter((r) => !r.passed && !r.skipped);
    for (const r of results) {
      if (r.skipped) continue;
      const key = `${relative(ROOT, resolve(ROOT, r.file)) || r.file}: ${r.name}`;
      const t = tallies.get(key) ?? { runs: 0, failed: 0, ms: 0 };
      t.runs++;
      t.ms += r.ms ?? 0;
      if (!r.passed) {
        t.failed++;
        if (t.firstError === undefined) { t.firstError = r.error ?? '(no message)'; t.firstRun = run; }
      }
      tallies.set(key, t);
    }
    const label = group.length === 1 ? group[0] : `${group.length} files`;
    console.log(`run ${run}/${times} ${label}: ${results.length - failed.length} passed, ${failed.length} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    // As they happen, so a long campaign shows its failures before it ends.
    for (const r of failed) console.log(`  FAILED ${relative(ROOT, resolve(ROOT, r.file)) || r.file}: ${r.name}\n      ${r.error ?? '(no message)'}`);
  }
}
stopBusy();

// Per file: how many tests, and in how many test-runs one of them failed (the table for a note).
const perFile = new Map<string, { tests: number; failures: number; ms: number }>();
for (const [key, t] of tallies) {
  const file = key.slice(0, key.indexOf(': '));
  const f = perFile.get(file) ?? { tests: 0, failures: 0, ms: 0 };
  f.tests++;
  f.failures += t.failed;
  f.ms += t.ms;
  perFile.set(file, f);
}
console.log(`\n| file | tests | runs | failed test-runs | time per run |\n|---|---|---|---|---|`);
for (const [file, f] of [...perFile].sort()) console.log(`| ${file} | ${f.tests} | ${times} | ${f.failures} | ${(f.ms / times / 1000).toFixed(1)} s |`);

const flaky = [...tallies].filter(([, t]) => t.failed > 0);
console.log(`\n${tallies.size} tests, ${times} runs each${busy ? ', one core busy' : ''}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (!flaky.length) console.log('every test passed every run');
for (const [name, t] of flaky) {
  console.log(`FAILED ${t.failed}/${t.runs}  ${name}\n    first (run ${t.firstRun}): ${t.firstError}`);
}
process.exit(flaky.length ? 1 : 0);
