// `npm test`: every suite, in order — types, lint, node:test (protocol, bridge, relay, firmware, docs, field),
// web-test-runner (the PWA's elements in headless Chromium), end-to-end (real Chromium against
// the real stack). Prints each runner's own summary, then one closing line `N passed, N failed`.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2); // optional suite names: types lint node web e2e

function findTests(dir: string, out: string[] = []): string[] {
  let entries: string[];
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out.sort();
}

interface Tally { passed: number; failed: number }

function run(label: string, cmd: string, args: string[], parse: (out: string) => Tally | null): Promise<Tally> {
  return new Promise((resolve) => {
    console.log(`\n=== ${label}: ${cmd} ${args.length > 6 ? args.slice(0, 6).join(' ') + ' …' : args.join(' ')}`);
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    const take = (chunk: Buffer, to: NodeJS.WriteStream) => { const s = chunk.toString(); out += s; to.write(s); };
    child.stdout.on('data', (c: Buffer) => take(c, process.stdout));
    child.stderr.on('data', (c: Buffer) => take(c, process.stderr));
    child.on('close', (code) => {
      // A step with no test count of its own (the type check) counts as one check.
      const tally = parse(out) ?? (code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 0 });
      // A runner that died without reporting a failure still failed.
      if (code !== 0 && tally.failed === 0) tally.failed = 1;
      console.log(`=== ${label}: ${tally.passed} passed, ${tally.failed} failed (exit ${code})`);
      resolve(tally);
    });
  });
}

const tapCounts = (out: string): Tally | null => {
  const pass = [...out.matchAll(/^# pass (\d+)$/gm)].map((m) => Number(m[1]));
  const fail = [...out.matchAll(/^# fail (\d+)$/gm)].map((m) => Number(m[1]));
  if (!pass.length && !fail.length) return null;
  return { passed: pass.reduce((a, b) => a + b, 0), failed: fail.reduce((a, b) => a + b, 0) };
};
const wtrCounts = (out: string): Tally | null => {
  const m = [...out.matchAll(/(\d+) passed, (\d+) failed/g)].pop();
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : null;
};

const suites: { name: string; go: () => Promise<Tally> }[] = [
  {
    name: 'types',
    go: async () => {
      const a = await run('types (app)', 'node', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], () => null);
      const b = await run('types (node)', 'node', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.node.json'], () => null);
      return { passed: a.passed + b.passed, failed: a.failed + b.failed };
    },
  },
  {
    // typescript-eslint (eslint.config.js): floating promises, exhaustive switches, unused code,
    // function length. One check, like the type checks.
    name: 'lint',
    go: () => run('lint', 'node', ['node_modules/eslint/bin/eslint.js', '--max-warnings', '0', '.'], () => null),
  },
  {
    name: 'node',
    go: () => {
      const files = ['protocol', 'common', 'bridge', 'server', 'firmware', 'docs', 'scripts', 'deploy', 'field'].flatMap((d) => findTests(join(root, d)));
      if (!files.length) return Promise.resolve({ passed: 0, failed: 0 });
      return run('node:test', 'node', ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=1', ...files], tapCounts);
    },
  },
  {
    name: 'web',
    go: () => {
      if (!findTests(join(root, 'src')).length) return Promise.resolve({ passed: 0, failed: 0 });
      return run('web-test-runner', 'node', ['node_modules/@web/test-runner/dist/bin.js', '--config', 'web-test-runner.config.mjs'], wtrCounts);
    },
  },
  {
    name: 'e2e',
    go: () => {
      const files = findTests(join(root, 'e2e'));
      if (!files.length) return Promise.resolve({ passed: 0, failed: 0 });
      return run('end-to-end', 'node', ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=1', ...files], tapCounts);
    },
  },
];

const total: Tally = { passed: 0, failed: 0 };
const started = Date.now();
for (const s of suites) {
  if (only.length && !only.includes(s.name)) continue;
  const t = await s.go();
  total.passed += t.passed;
  total.failed += t.failed;
}
console.log(`\n(all suites in ${((Date.now() - started) / 1000).toFixed(0)} s)`);
console.log(`${total.passed} passed, ${total.failed} failed`);
process.exit(total.failed ? 1 : 0);
