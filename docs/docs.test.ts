// The documentation checked against the code:
// 1. every HTTP route, WebSocket endpoint and message type in the code is in docs/API_REFERENCE.md,
//    and every one documented there exists in the code (bridge and relay, each in its own section);
// 2. every `npm run <script>` in the docs' code (README.md, docs/*.md) exists in package.json.
// The code's lists come from the code itself: the bridge's ROUTES table, the relay's RELAY_ROUTES
// table (server/relay/http-routes.ts) and its WebSocket paths in server/relay/server.ts, the
// message validators of protocol/messages.ts and the frame interfaces of protocol/relay.ts.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROUTES } from '../bridge/http/router.ts';
import { RELAY_ROUTES } from '../server/relay/http-routes.ts';
import { ERROR_CODES, CLIENT_MESSAGE_TYPES, ROBOT_MESSAGE_TYPES, STOP_REASONS } from '../protocol/messages.ts';
import { CloseCode } from '../protocol/limits.ts';
import { RelayCloseCode } from '../protocol/relay.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

// ---- helpers (exported for nothing; kept pure so the failure messages stay readable) ----------

/** `^\/motor\/([^/]+)$` → `/motor/*`: a regex route as a path, each capture group one `*` segment. */
export function regexToPath(source: string): string {
  return source.replace(/^\^/, '').replace(/\$$/, '').replace(/\([^)]*\)/g, '*').replace(/\\([/.])/g, '$1');
}

/** A documented path with placeholders (`<id>`, `:id`, `<a\|b>`) normalised to `*` segments. */
export function normalizeDocPath(path: string): string {
  return path.replace(/<[^>]*>/g, '*').replace(/:[A-Za-z]\w*/g, '*');
}

/** True when a documented path (placeholders → `x`) matches a code path pattern (`*` = one segment). */
function pathMatches(docPath: string, codePattern: string): boolean {
  const concrete = normalizeDocPath(docPath).replace(/\*/g, 'x');
  const re = new RegExp('^' + codePattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+') + '$');
  return re.test(concrete);
}

/** The text of a `## heading` section (up to the next `## `). */
function section(md: string, heading: string): string {
  const start = md.search(new RegExp(`^## ${heading}`, 'm'));
  assert.ok(start >= 0, `docs/API_REFERENCE.md has no "## ${heading}" section`);
  const rest = md.slice(start + 3);
  const end = rest.search(/^## /m);
  return end === -1 ? rest : rest.slice(0, end);
}

/** Every `METHOD /path` written in backticks. */
function documentedRoutes(text: string): string[] {
  return [...text.matchAll(/`(GET|POST|PUT|PATCH|DELETE|WS) (\/[^`\s]*)`/g)].map((m) => `${m[1]} ${m[2]}`);
}

interface Route { method: string; path: string }

function compareRoutes(side: string, code: Route[], docText: string): string[] {
  const problems: string[] = [];
  const docs = documentedRoutes(docText).map((r) => {
    const [method, path] = r.split(' ') as [string, string];
    return { method, path, label: r };
  });
  for (const c of code) {
    const found = docs.some((d) => d.method === c.method && normalizeDocPath(d.path) === c.path);
    if (!found) problems.push(`${side}: ${c.method} ${c.path} is in the code but not in docs/API_REFERENCE.md`);
  }
  for (const d of docs) {
    const exists = code.some((c) => c.method === d.method && pathMatches(d.path, c.path));
    if (!exists) problems.push(`${side}: ${d.label} is in docs/API_REFERENCE.md but not in the code`);
  }
  return problems;
}

// ---- the code's lists ------------------------------------------------------------------------

function bridgeRoutes(): Route[] {
  const http = ROUTES.map((r) => ({ method: r.method, path: regexToPath(r.path.source) }));
  const gateway = read('bridge/ws/gateway.ts');
  const ws = [...gateway.matchAll(/url\.pathname !== '([^']+)'/g)].map((m) => ({ method: 'WS', path: m[1]! }));
  assert.ok(ws.length >= 1, 'could not find the WebSocket path in bridge/ws/gateway.ts (url.pathname !== ...)');
  return [...http, ...ws];
}

/** The relay's routes: its HTTP table, and the WebSocket paths read from server/relay/server.ts. */
function relayRoutes(): Route[] {
  const src = read('server/relay/server.ts');
  const routes: Route[] = RELAY_ROUTES.map((r) => ({ method: r.method, path: regexToPath(r.path.source) }));
  // const robotPath = /^\/ws\/robot\/([^/]+)$/.exec(url.pathname);
  for (const m of src.matchAll(/\/(\^\\\/ws\\\/.*?\$)\/\.exec\(url\.pathname\)/g)) routes.push({ method: 'WS', path: regexToPath(m[1]!) });
  const unique = new Map(routes.map((r) => [`${r.method} ${r.path}`, r]));
  return [...unique.values()];
}

/** Message types of protocol/relay.ts per direction, from its `// ---- a → b ----` sections. */
export function relayFrameTypes(src: string, shared = ''): Map<string, string[]> {
  const out = new Map<string, string[]>();
  // A frame two directions share is declared once and named in each direction's union; one the
  // robot sends too (`recording`) is declared in `shared` (protocol/messages.ts).
  const typeOf = new Map([...(src + shared).matchAll(/interface (\w+) \{[^}]*?\bv: 1; type: '(\w+)'/g)].map((m) => [m[1]!, m[2]!]));
  const parts = src.split(/^\/\/ ---- (.+?) -{3,}\s*$/m);
  for (let i = 1; i < parts.length; i += 2) {
    const direction = parts[i]!.replace(/\s*\(.*\)\s*$/, '').trim();
    const types = [...parts[i + 1]!.matchAll(/\bv: 1; type: '(\w+)'/g)].map((m) => m[1]!);
    for (const union of parts[i + 1]!.matchAll(/^export type \w+ = ([\w\s|]+);/gm)) {
      for (const name of union[1]!.split('|').map((n) => n.trim())) {
        const t = typeOf.get(name);
        if (t && !types.includes(t)) types.push(t);
      }
    }
    if (types.length) out.set(direction, types);
  }
  return out;
}

/** Tables whose first header cell names a direction (`app → robot`): header → first word of each row's first cell. */
export function messageTables(md: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const header = /^\|\s*([^|]+?)\s*\|/.exec(lines[i]!);
    if (!header || !/^\|[\s|:-]+\|?\s*$/.test(lines[i + 1] ?? '')) continue;
    const rows: string[] = [];
    for (let j = i + 2; j < lines.length && lines[j]!.startsWith('|'); j++) {
      const cell = /^\|\s*`(\w+)/.exec(lines[j]!);
      if (cell) rows.push(cell[1]!);
    }
    const key = header[1]!;
    out.set(key, [...(out.get(key) ?? []), ...rows]);
  }
  return out;
}

// ---- tests -----------------------------------------------------------------------------------

const apiRef = read('docs/API_REFERENCE.md');

test('every bridge route and WebSocket endpoint is documented, and every documented one exists', () => {
  const code = bridgeRoutes();
  assert.ok(code.length >= 10, `expected the bridge's ROUTES table, found ${code.length} routes`);
  const problems = compareRoutes('bridge', code, section(apiRef, 'Bridge'));
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('every relay route and WebSocket endpoint is documented, and every documented one exists', () => {
  const code = relayRoutes();
  assert.ok(code.some((r) => r.method === 'GET' && r.path === '/health'), 'no GET /health in the relay routes (RELAY_ROUTES in server/relay/http-routes.ts)');
  assert.ok(code.some((r) => r.method === 'WS'), 'the relay route parser found no WebSocket path');
  assert.ok(code.length >= 12, `the relay route parser found only ${code.length} routes: ${code.map((r) => `${r.method} ${r.path}`).join(', ')}`);
  const problems = compareRoutes('relay', code, section(apiRef, 'Relay'));
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('the relay frame parser reads the same types the protocol exports', () => {
  // Guards the parser below: applied to protocol/messages.ts it must find exactly the exported lists.
  const src = read('protocol/messages.ts');
  const found = new Set([...src.matchAll(/\bv: 1; type: '(\w+)'/g)].map((m) => m[1]!));
  assert.deepEqual([...found].sort(), [...new Set([...CLIENT_MESSAGE_TYPES, ...ROBOT_MESSAGE_TYPES])].sort());
});

test('every WebSocket message type is documented in its direction, and every documented one exists', () => {
  const relay = relayFrameTypes(read('protocol/relay.ts'), read('protocol/messages.ts'));
  for (const d of ['relay → robot', 'robot → relay', 'relay → app', 'app → relay']) {
    assert.ok(relay.has(d), `protocol/relay.ts has no "// ---- ${d} ----" section with frame interfaces (found: ${[...relay.keys()].join(', ')})`);
  }
  const expected = new Map<string, readonly string[]>([
    ['app → robot', CLIENT_MESSAGE_TYPES],
    ['robot → app', ROBOT_MESSAGE_TYPES],
    ['relay → robot', relay.get('relay → robot')!],
    ['robot → relay', relay.get('robot → relay')!],
    ['relay → app', relay.get('relay → app')!],
    ['app → relay', relay.get('app → relay')!],
    ['ClientMessage at the relay', CLIENT_MESSAGE_TYPES],
  ]);
  const tables = messageTables(apiRef);
  const problems: string[] = [];
  for (const [header] of tables) {
    if (header.includes('→') && !expected.has(header)) problems.push(`docs: a table headed "${header}" names no known direction (${[...expected.keys()].join(', ')})`);
  }
  for (const [direction, types] of expected) {
    const documented = tables.get(direction);
    if (!documented) { problems.push(`docs: no table headed "| ${direction} |" in docs/API_REFERENCE.md`); continue; }
    for (const t of types) if (!documented.includes(t)) problems.push(`${direction}: \`${t}\` is in the code but not in docs/API_REFERENCE.md`);
    for (const t of documented) if (!types.includes(t)) problems.push(`${direction}: \`${t}\` is in docs/API_REFERENCE.md but not in the code`);
  }
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('every error code and close code is in the API reference', () => {
  const missing: string[] = [];
  for (const code of ERROR_CODES) if (!apiRef.includes(`\`${code}\``)) missing.push(`error code \`${code}\``);
  for (const [name, n] of Object.entries({ ...CloseCode, ...RelayCloseCode })) if (!apiRef.includes(`${n}`)) missing.push(`close code ${n} (${name})`);
  assert.deepEqual(missing, [], `in protocol/ but not in docs/API_REFERENCE.md: ${missing.join(', ')}`);
});

function docFiles(): string[] {
  return ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
}

/** The `npm run <name>` commands in fenced code blocks and inline code spans of a Markdown text. */
export function npmRunCommands(md: string): string[] {
  const code: string[] = [];
  const fence = /^```[^\n]*\n([\s\S]*?)^```/gm;
  for (const m of md.matchAll(fence)) code.push(m[1]!);
  for (const m of md.replace(fence, '').matchAll(/`([^`\n]+)`/g)) code.push(m[1]!);
  return code.flatMap((c) => [...c.matchAll(/\bnpm run ([\w:.-]+)/g)].map((m) => m[1]!));
}

test('every `npm run <script>` in the docs exists in package.json', () => {
  const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);
  const problems: string[] = [];
  let seen = 0;
  for (const file of docFiles()) {
    for (const name of npmRunCommands(read(file))) {
      seen++;
      if (!scripts.includes(name)) problems.push(`${file}: npm run ${name} (package.json has: ${scripts.join(', ')})`);
    }
  }
  assert.ok(seen > 0, 'no `npm run` found in the docs at all: is the extraction broken?');
  assert.deepEqual(problems, [], `scripts the docs use but package.json does not have:\n${problems.join('\n')}`);
});

/** Stop reasons the bridge's code passes to a stop: `stop('x'`, `sessionGone(id, 'x')`, a default `= 'x'`. */
export function stopReasonsSent(src: string, reasons: readonly string[]): string[] {
  return reasons.filter((r) => new RegExp(`\\b(?:stop|sessionGone|peerGone)\\((?:[^()]*,\\s*)?'${r}'|StopReason = '${r}'`).test(src));
}

test('the stop reasons the API reference says the bridge sends are the ones its code sends', () => {
  const src = ['bridge/safety/motion.ts', 'bridge/http/routes.ts', 'bridge/ws/handlers/stop.ts', 'bridge/ws/handlers/lease.ts', 'bridge/ws/gateway.ts', 'bridge/app.ts']
    .map(read).join('\n');
  const sent = stopReasonsSent(src, STOP_REASONS);
  assert.ok(sent.includes('deadman') && sent.includes('command'), `the parser found only ${sent.join(', ')}`);
  const row = apiRef.split('\n').find((l) => l.startsWith('| `stopped {'));
  assert.ok(row, 'no `stopped {…}` row in docs/API_REFERENCE.md');
  const [said, notSent = ''] = row.split('the protocol also defines');
  const documented = STOP_REASONS.filter((r) => said!.includes(`\`${r}\``));
  assert.deepEqual(documented, sent, 'the reasons the row lists as sent (before "the protocol also defines") differ from the code\'s');
  assert.deepEqual(STOP_REASONS.filter((r) => notSent.includes(`\`${r}\``)), STOP_REASONS.filter((r) => !sent.includes(r)), 'the reasons listed as not sent');
});
