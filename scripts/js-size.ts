// Prints the gzipped size of the JavaScript a first visit loads (the entry chunk and the chunks it
// imports statically, read from Vite's manifest-free output by following index.html's script and
// modulepreload links), then every lazy chunk. Fails when the initial JS is over budget.
//   node --import tsx scripts/js-size.ts [distDir]
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_KB = 80;
const dist = process.argv[2] ?? new URL('../dist', import.meta.url).pathname;

const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = new Set<string>();
for (const m of html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/?([^"]+\.js)"/g)) initial.add(m[1]!);
// Static imports of the entry (Vite lists them as modulepreload, but follow imports to be sure).
const queue = [...initial];
while (queue.length) {
  const file = queue.pop()!;
  const code = readFileSync(join(dist, file), 'utf8');
  for (const m of code.matchAll(/(?:^|[;\n}])\s*import\s*(?:[^"'();]*?from\s*)?["']\.\/([^"']+\.js)["']/g)) {
    const dep = join(file, '..', m[1]!);
    if (!initial.has(dep)) {
      initial.add(dep);
      queue.push(dep);
    }
  }
}

const gz = (file: string): number => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const kb = (n: number): string => (n / 1024).toFixed(1);
let total = 0;
console.log('initial JS (gzip):');
for (const f of [...initial].sort()) {
  const n = gz(f);
  total += n;
  console.log(`  ${f}  ${kb(n)} KB`);
}
console.log(`  total ${kb(total)} KB (budget ${BUDGET_KB} KB)`);
const lazy = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js')).map((f) => `assets/${f}`).filter((f) => !initial.has(f));
if (lazy.length) {
  console.log('lazy chunks (gzip):');
  for (const f of lazy.sort()) console.log(`  ${f}  ${kb(gz(f))} KB`);
}
if (total > BUDGET_KB * 1024) {
  console.error(`initial JS ${kb(total)} KB is over the ${BUDGET_KB} KB budget`);
  process.exit(1);
}
