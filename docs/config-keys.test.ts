// The settings the docs tell a reader to set or add, checked against what reads them:
// 1. every environment variable the docs set (`NAME=value` in a code block or span, `NAME: value`
//    in a YAML block) is read by the code, a compose file, a script, a systemd unit or the
//    Caddyfile; an `MTX_<KEY>` names a real MediaMTX v1.20.1 key (from its source's mediamtx.yml);
// 2. every `UPPER_CASE_NAME` the docs mention in code is a setting or a name in the code;
// 3. a YAML block the docs show for server/compose.yaml holds keys the file has, and one they tell
//    the reader to ADD holds keys it does not have yet (adding a key it has makes compose refuse
//    the file); the same for server/mediamtx.yml;
// 4. every service a `docker compose … <command> <service>` line names is in server/compose.yaml.
// Each rule is also run on a small made-up doc with a known mistake, so a rule that can no longer
// find anything fails here rather than passing in silence.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import yaml from 'js-yaml';

const ROOT = new URL('..', import.meta.url).pathname;
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

/** Read by programs that are not ours; each says which. */
const EXTERNAL: Record<string, string> = {
  COMPOSE_PROFILES: 'docker compose itself (which optional services start)',
  NODE_EXTRA_CA_CERTS: 'Node.js (extra trusted CAs)',
  LD_PRELOAD: 'the dynamic linker',
  DEBIAN_FRONTEND: 'apt',
  ERR_CERT_INVALID: 'a Chromium error name, not a setting',
  XDG_CACHE_HOME: 'the XDG base directories',
  MALLOC_MMAP_THRESHOLD_: 'a glibc malloc tunable (measured, not kept)',
};

// ---- where settings are read -------------------------------------------------------------------

function files(dir: string, keep: (path: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(join(ROOT, dir))) {
    if (name === 'node_modules' || name === 'dist' || name === 'build' || name.startsWith('.')) continue;
    const rel = dir === '.' ? name : `${dir}/${name}`;
    if (statSync(join(ROOT, rel)).isDirectory()) files(rel, keep, out);
    else if (keep(rel)) out.push(rel);
  }
  return out;
}

/** `mediamtxKeys`: MediaMTX's own top-level keys (lower case), or null when its source is not here. */
interface Sources { envRead: Set<string>; codeNames: Set<string>; mediamtxKeys: Set<string> | null }

/** Every environment variable something in the repository reads, and every UPPER_CASE word in code. */
function readSources(): Sources {
  const envRead = new Set<string>();
  const codeNames = new Set<string>();
  const add = (set: Set<string>, text: string, re: RegExp) => { for (const m of text.matchAll(re)) set.add(m[1]!); };
  const code = files('.', (p) => /\.(ts|sh|ya?ml|service|conf|mjs)$|Caddyfile$/.test(p) && !p.endsWith('.test.ts') && !p.startsWith('docs/'));
  for (const path of code) {
    const text = read(path);
    add(codeNames, text, /\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b/g);
    if (path.endsWith('.ts')) {
      add(envRead, text, /\benv\??\.([A-Z][A-Z0-9_]+)/g);
      add(envRead, text, /\benv\[\s*['"]([A-Z][A-Z0-9_]+)['"]/g);
      // A name kept in a constant and read as env[CONST] (bench/lib/stack.ts SHARED_STACK_ENV).
      add(envRead, text, /_ENV\s*=\s*['"]([A-Z][A-Z0-9_]+)['"]/g);
    } else {
      add(envRead, text, /\$\{?([A-Z][A-Z0-9_]+)/g); // shell, compose interpolation, Caddy {$NAME}
      add(envRead, text, /\{env\.([A-Z][A-Z0-9_]+)\}/g); // Caddy {env.NAME}
      add(envRead, text, /Environment=([A-Z][A-Z0-9_]+)=/g); // systemd
    }
  }
  // Environment keys compose gives a service (the relay reads them, MediaMTX reads MTX_*, …).
  for (const svc of Object.values(composeServices())) {
    const env = svc.environment;
    if (Array.isArray(env)) for (const e of env) envRead.add(String(e).split('=')[0]!);
    else if (env && typeof env === 'object') for (const k of Object.keys(env)) envRead.add(k);
  }
  return { envRead, codeNames, mediamtxKeys: upstreamMediamtxKeys() };
}

/**
 * Every key MediaMTX v1.20.1 knows, from the mediamtx.yml in its source (Go's module cache, where
 * scripts/build-mediamtx.sh fetched it): server/mediamtx.yml sets only some of them.
 */
function upstreamMediamtxKeys(): Set<string> | null {
  const r = spawnSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' });
  const dirs = [r.status === 0 ? r.stdout.trim() : '', join(homedir(), 'go', 'pkg', 'mod')].filter(Boolean);
  for (const d of dirs) {
    const file = join(d, 'github.com', 'bluenviron', 'mediamtx@v1.20.1', 'mediamtx.yml');
    if (existsSync(file)) return new Set(Object.keys(yaml.load(readFileSync(file, 'utf8')) as Record<string, unknown>).map((k) => k.toLowerCase()));
  }
  return null;
}

interface ComposeService { environment?: Record<string, unknown> | string[] | string; [key: string]: unknown }
function composeServices(): Record<string, ComposeService> {
  return ((yaml.load(read('server/compose.yaml')) as { services: Record<string, ComposeService> }).services);
}

/** Every mapping key anywhere in a parsed YAML value. */
function allKeys(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) allKeys(x, out);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.add(k); allKeys(x, out); }
  return out;
}

// ---- what the docs say -------------------------------------------------------------------------

interface Block { file: string; line: number; lang: string; text: string; intro: string }

/** Fenced code blocks, each with the paragraph just before it (which says where it goes). */
export function fencedBlocks(md: string, file: string): Block[] {
  const lines = md.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*```(\w*)/.exec(lines[i]!);
    if (!open) continue;
    let j = i + 1;
    while (j < lines.length && !/^\s*```/.test(lines[j]!)) j++;
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    const introLines: string[] = [];
    while (k >= 0 && lines[k]!.trim() !== '' && !/^\s*```/.test(lines[k]!)) introLines.unshift(lines[k--]!);
    out.push({ file, line: i + 1, lang: open[1]!, text: lines.slice(i + 1, j).join('\n'), intro: introLines.join(' ') });
    i = j;
  }
  return out;
}

/** Inline code spans outside fenced blocks, with their line numbers. */
function inlineSpans(md: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let fenced = false;
  md.split('\n').forEach((l, i) => {
    if (/^\s*```/.test(l)) { fenced = !fenced; return; }
    if (!fenced) for (const m of l.matchAll(/`([^`]+)`/g)) out.push({ text: m[1]!, line: i + 1 });
  });
  return out;
}

// Settings have an underscore (ADMIN_API_KEY); `CARD=…` (ALSA) or `TOKEN=…` (a shell variable) do not.
const ASSIGN = /(?:^|[\s;&(=])(?:export\s+)?([A-Z][A-Z0-9]*_[A-Z0-9_]+)=(?!=)/gm;
const YAML_ENV_KEY = /^\s*([A-Z][A-Z0-9]*_[A-Z0-9_]+):(?:\s|$)/gm;
const UPPER_NAME = /\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b/g;

interface Finding { where: string; name: string }

/** Names a doc assigns and then uses as `$NAME` itself: its own shell variables, not settings. */
function shellVariables(md: string): Set<string> {
  return new Set([...md.matchAll(/\$\{?([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!).filter((n) => new RegExp(`\\b${n}=`).test(md)));
}

/** Environment variables a doc tells the reader to set. */
export function settingsSet(md: string, file: string): Finding[] {
  const local = shellVariables(md);
  return settingsWritten(md, file).filter((f) => !local.has(f.name));
}

function settingsWritten(md: string, file: string): Finding[] {
  const out: Finding[] = [];
  for (const b of fencedBlocks(md, file)) {
    const re = b.lang === 'yaml' || b.lang === 'yml' ? YAML_ENV_KEY : ASSIGN;
    for (const m of b.text.matchAll(re)) out.push({ where: `${file}:${b.line}`, name: m[1]! });
  }
  for (const s of inlineSpans(md)) {
    for (const m of s.text.matchAll(ASSIGN)) out.push({ where: `${file}:${s.line}`, name: m[1]! });
  }
  return out;
}

/** Every UPPER_CASE_NAME a doc writes in code (blocks and spans), but its own shell variables. */
export function namesMentioned(md: string, file: string): Finding[] {
  const local = shellVariables(md);
  return namesWritten(md, file).filter((f) => !local.has(f.name));
}

function namesWritten(md: string, file: string): Finding[] {
  const out: Finding[] = [];
  for (const b of fencedBlocks(md, file)) for (const m of b.text.matchAll(UPPER_NAME)) out.push({ where: `${file}:${b.line}`, name: m[1]! });
  for (const s of inlineSpans(md)) for (const m of s.text.matchAll(UPPER_NAME)) out.push({ where: `${file}:${s.line}`, name: m[1]! });
  return out;
}

export function checkSettings(md: string, file: string, src: Sources): string[] {
  const problems: string[] = [];
  for (const { where, name } of settingsSet(md, file)) {
    if (name.startsWith('MTX_')) {
      if (src.mediamtxKeys && !src.mediamtxKeys.has(name.slice(4).toLowerCase())) problems.push(`${where}: ${name} names no MediaMTX v1.20.1 key (MediaMTX reads MTX_<KEY>)`);
    } else if (!src.envRead.has(name) && !(name in EXTERNAL)) {
      problems.push(`${where}: the reader is told to set ${name}, which nothing reads (code, compose, scripts, units, Caddyfile)`);
    }
  }
  for (const { where, name } of namesMentioned(md, file)) {
    if (name.startsWith('MTX_')) continue; // checked above where set; a mention alone names the same key
    if (!src.envRead.has(name) && !src.codeNames.has(name) && !(name in EXTERNAL)) problems.push(`${where}: \`${name}\` is neither a setting anything reads nor a name in the code`);
  }
  return problems;
}

/** "Add these lines…", "…, then add", "To be told, add…" — not "Do not add" or "nothing to add". */
export const tellsToAdd = (text: string): boolean => /(?:^|[.!?:]\s+|,\s+|\bthen\s+|\band\s+)add\b/i.test(text.trim());

/** YAML blocks meant for server/compose.yaml or server/mediamtx.yml: the keys must be there, or not yet when the doc says add. */
export function checkYamlBlocks(md: string, file: string, compose: Record<string, ComposeService>, mediamtx: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const b of fencedBlocks(md, file)) {
    if (b.lang !== 'yaml' && b.lang !== 'yml') continue;
    const target = /compose\.yaml/.test(b.intro) ? 'compose' : /mediamtx\.yml/.test(b.intro) ? 'mediamtx' : null;
    if (!target) continue;
    const adds = tellsToAdd(b.intro);
    let parsed: unknown;
    try {
      // Compose snippets are indented as inside their service: drop the common indent.
      const indent = Math.min(...b.text.split('\n').filter((l) => l.trim()).map((l) => /^\s*/.exec(l)![0].length));
      parsed = yaml.load(b.text.split('\n').map((l) => l.slice(indent)).join('\n'));
    } catch (e) {
      problems.push(`${file}:${b.line}: the YAML block does not parse: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    const top = parsed && typeof parsed === 'object' ? Object.keys(parsed) : [];
    // A compose snippet names its service in the paragraph ("the `relay` service"); else any service.
    const svcName = Object.keys(compose).find((s) => b.intro.includes(`\`${s}\` service`));
    const have = target === 'mediamtx' ? new Set(Object.keys(mediamtx)) : allKeys(svcName ? compose[svcName] : compose);
    for (const key of top) {
      if (adds && have.has(key)) problems.push(`${file}:${b.line}: tells the reader to add ${key} to ${target === 'compose' ? `server/compose.yaml${svcName ? ` (${svcName})` : ''}` : 'server/mediamtx.yml'}, which already has it: a key twice makes the file invalid`);
      if (!adds && !have.has(key)) problems.push(`${file}:${b.line}: shows ${key} as in ${target === 'compose' ? 'server/compose.yaml' : 'server/mediamtx.yml'}, which does not have it`);
    }
  }
  return problems;
}

/** `docker compose [--env-file F] [-f F] exec|logs|… [flags] <service>`: the services exist. */
export function checkComposeServices(md: string, file: string, services: string[]): string[] {
  const problems: string[] = [];
  const takesService = new Set(['exec', 'logs', 'restart', 'stop', 'start', 'run', 'cp', 'config', 'up', 'ps']);
  md.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(/docker compose((?:\s+(?:--env-file|-f|--profile)\s+\S+)*)\s+(\w+)((?:\s+-{1,2}[\w-]+)*)\s+([a-z][\w-]*)(?::\S*)?/g)) {
      const [, , cmd, , svc] = m;
      if (!takesService.has(cmd!)) continue;
      if (!services.includes(svc!)) problems.push(`${file}:${i + 1}: \`docker compose ${cmd} ${svc}\`: server/compose.yaml has no service ${svc} (it has ${services.join(', ')})`);
    }
  });
  return problems;
}

// ---- tests -------------------------------------------------------------------------------------

const docs = ['README.md', 'server/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
  .filter((f) => { try { return statSync(join(ROOT, f)).isFile(); } catch { return false; } });

describe('settings in the docs exist where the docs say', () => {
  const src = readSources();
  const compose = composeServices();
  const mediamtx = yaml.load(read('server/mediamtx.yml')) as Record<string, unknown>;

  test('the sources were read (compose services, env reads, MediaMTX keys)', () => {
    assert.ok(Object.keys(compose).includes('relay'), `no relay service in server/compose.yaml: ${Object.keys(compose).join(', ')}`);
    for (const n of ['ADMIN_API_KEY', 'REDIS_URL', 'HAVATAR_DOMAIN', 'MEDIA_PUBLIC_URL']) assert.ok(src.envRead.has(n), `${n} not found as read anywhere`);
  });

  test('every environment variable the docs set is read by something, and every UPPER_CASE name they show exists', () => {
    const problems = docs.flatMap((f) => checkSettings(read(f), f, src));
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('YAML the docs show for compose.yaml / mediamtx.yml is there, and what they say to add is not there yet', () => {
    const problems = docs.flatMap((f) => checkYamlBlocks(read(f), f, compose, mediamtx));
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('every service a `docker compose` command in the docs names is in compose.yaml', () => {
    const problems = docs.flatMap((f) => checkComposeServices(read(f), f, Object.keys(compose)));
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('the MTX_ overrides compose.yaml itself sets name real MediaMTX keys', (t) => {
    const keys = src.mediamtxKeys;
    if (!keys) return t.skip('MediaMTX v1.20.1\'s source is not in Go\'s module cache (bash scripts/build-mediamtx.sh fetches it)');
    assert.ok(keys.has('authhttpaddress') && keys.has('rtspsaddress'), 'MediaMTX\'s key list looks wrong');
    const env = compose.mediamtx?.environment;
    const names = Array.isArray(env) ? env.map((e) => String(e).split('=')[0]!) : Object.keys(env ?? {});
    const bad = names.filter((n) => n.startsWith('MTX_') && !keys.has(n.slice(4).toLowerCase()));
    assert.ok(names.some((n) => n.startsWith('MTX_')), 'no MTX_ override found in the mediamtx service');
    assert.deepEqual(bad, [], `MediaMTX has no such keys: ${bad.join(', ')}`);
  });
});

describe('each check finds the mistake it is for (made-up docs)', () => {
  const src: Sources = { envRead: new Set(['ADMIN_API_KEY', 'HAVATAR_DOMAIN']), codeNames: new Set(['V1_FIELDS']), mediamtxKeys: new Set(['authhttpaddress']) };
  const compose: Record<string, ComposeService> = { relay: { environment: { MEDIA_PUBLIC_URL: 'x' } }, caddy: {} };

  test('a variable nothing reads, a misspelt MTX_ key, an unknown name', () => {
    const md = 'Set it:\n\n```sh\nADMIN_API_KEY=x\nADMIN_APIKEY_TYPO=y\nMTX_AUTHHTTPADRESS=z\n```\n\nSee `V1_FIELDS` and `GONE_SETTING`; inline `HAVATAR_DOMAIN=a` and `OLD_NAME=b`.\n';
    assert.deepEqual(checkSettings(md, 'x.md', src).map((p) => p.replace(/^x\.md:\d+: /, '').split(',')[0]), [
      'the reader is told to set ADMIN_APIKEY_TYPO',
      'MTX_AUTHHTTPADRESS names no MediaMTX v1.20.1 key (MediaMTX reads MTX_<KEY>)',
      'the reader is told to set OLD_NAME',
      '`ADMIN_APIKEY_TYPO` is neither a setting anything reads nor a name in the code',
      '`GONE_SETTING` is neither a setting anything reads nor a name in the code',
      '`OLD_NAME` is neither a setting anything reads nor a name in the code',
    ].map((s) => s.split(',')[0]!));
  });

  test('"add" is read as an instruction only when it is one', () => {
    assert.equal(tellsToAdd('Add these two lines to the `relay` service\'s `environment:`'), true);
    assert.equal(tellsToAdd('To be told, add to `server/.env` and run it again:'), true);
    assert.equal(tellsToAdd('compose sets them; there is nothing to add. Do not add the keys again:'), false);
  });

  test('"add to compose.yaml" a key it already has (the old §2a), and a shown key it lacks', () => {
    const md = 'Add these lines to the `relay` service\'s `environment:` in `server/compose.yaml`:\n\n```yaml\n      MEDIA_PUBLIC_URL: https://x\n```\n\n'
      + 'In `server/compose.yaml` the relay has:\n\n```yaml\n      HLS_PUBLIC_URL: https://x/hls\n```\n';
    const problems = checkYamlBlocks(md, 'x.md', compose, {});
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0]!, /add MEDIA_PUBLIC_URL to server\/compose\.yaml \(relay\), which already has it/);
    assert.match(problems[1]!, /shows HLS_PUBLIC_URL as in server\/compose\.yaml, which does not have it/);
  });

  test('a docker compose command naming a service that does not exist', () => {
    const md = '```sh\ndocker compose --env-file .env exec -T relay node x\ndocker compose logs -f relays\n```\n';
    assert.deepEqual(checkComposeServices(md, 'x.md', Object.keys(compose)).map((p) => p.split(':')[0]), ['x.md']);
  });
});
