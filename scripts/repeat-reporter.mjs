// A node:test reporter for `npm run test:repeat`: one JSON line per finished test, its name
// prefixed by its suites ("suite > test"), with the first line of its error when it failed.
// Node reports a suite after its tests, so each test waits in `pending` for its parents.

const HEAD = 'HAVATAR-RESULT ';

function firstLine(error) {
  if (!error) return undefined;
  const e = error.cause instanceof Error || typeof error.cause === 'string' ? error.cause : error;
  return String(e?.message ?? e).split('\n').slice(0, 40).join(' | ').slice(0, 4000);
}

export default async function* repeatReporter(source) {
  const pending = []; // pending[n]: finished results at nesting n whose parent has not finished
  for await (const ev of source) {
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
    const d = ev.data;
    const own = { name: d.name, passed: ev.type === 'test:pass', skipped: Boolean(d.skip || d.todo), ms: Math.round(d.details?.duration_ms ?? 0), error: ev.type === 'test:fail' ? firstLine(d.details?.error) : undefined };
    const children = pending[d.nesting + 1] ?? [];
    pending[d.nesting + 1] = [];
    const results = children.length ? children.map((c) => ({ ...c, name: `${d.name} > ${c.name}` })) : [own];
    // A suite that failed outside its tests (a hook) is a failure of its own: a failed `before`
    // leaves its tests only "cancelled", and the hook's error is the one that says why.
    if (children.length && !own.passed && d.details?.error?.failureType !== 'subtestsFailed') results.push(own);
    if (d.nesting === 0) for (const r of results) yield `${HEAD}${JSON.stringify({ file: d.file, ...r })}\n`;
    else (pending[d.nesting] ??= []).push(...results);
  }
}
