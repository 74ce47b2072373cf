// Bundles the bridge (bridge/main.ts and what it imports from bridge/, protocol/, common/) into one
// plain-JS file, build/bridge.mjs, run by `node` without tsx. Under tsx the bridge paid for the
// loader's worker thread and in-process TypeScript compilation: ~35 MB RSS more, measured (see
// docs/PERFORMANCE.md, "Robot footprint"). npm packages (ws, serialport with its native addon)
// stay external and load from node_modules, as before.
//
//   node --import tsx scripts/build-bridge.ts           builds when a source is newer than the bundle
//   node --import tsx scripts/build-bridge.ts --force   always builds
//
// The bundle sits one folder below the repository root on purpose: bridge/app.ts finds the app's
// dist/ as `new URL('..', import.meta.url)`, which from build/bridge.mjs is the root, as it is from
// bridge/app.ts.
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Plugin } from 'esbuild';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

export const BRIDGE_BUNDLE = join(ROOT, 'build', 'bridge.mjs');

/**
 * How the bridge runs (the Pi's systemd unit deploy/pi/havatar-bridge.service says the same; keep
 * them together). Measured in docs/PERFORMANCE.md:
 * - `--max-semi-space-size=1`: a 1 MB young generation, so the short-lived Buffer objects of the
 *   video path are scavenged (and their frame-sized backing stores freed) sooner; -10..14 MB RSS
 *   with the simulated camera, bridge CPU unchanged.
 * - MALLOC_ARENA_MAX=1: one glibc malloc arena instead of one per thread (V8's helper threads
 *   each got a 16 MB one); -11..25 MB RSS, CPU unchanged. bridge/main.ts removes it from the
 *   environment its FFmpeg children inherit (their encoder threads were slower with one arena).
 * - `--expose-gc` + MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ = 64 kB: the video path runs
 *   a minor GC after every 512 kB of frames (bridge/media/frame-garbage.ts), and buffers of 64 kB
 *   and more (frames, pipe and socket reads) are mapped and unmapped on their own instead of
 *   coming from a heap glibc keeps (its moving threshold had grown past them); 80 → 62-64 MB RSS
 *   in the footprint bench, neither half alone did more than 80 → 74. bridge/main.ts removes
 *   every MALLOC_* from the FFmpeg children's environment.
 * - `--single-threaded`: V8 without its helper threads (GC and compiling run on the main
 *   thread; the JS work here is light); -2 MB RSS.
 */
export const BRIDGE_NODE_FLAGS = ['--max-semi-space-size=1', '--single-threaded', '--expose-gc'];
export const BRIDGE_ENV: Record<string, string> = { MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '65536' };

const SOURCES = ['bridge', 'protocol', 'common', 'package.json', 'scripts/build-bridge.ts'];

function newestSource(): number {
  let newest = 0;
  const visit = (p: string) => {
    if (!existsSync(p)) return;
    const s = statSync(p);
    if (s.isDirectory()) {
      for (const n of readdirSync(p)) visit(join(p, n));
    } else if (!p.endsWith('.test.ts')) newest = Math.max(newest, s.mtimeMs);
  };
  SOURCES.forEach((p) => visit(join(ROOT, p)));
  return newest;
}

export function bridgeBundleIsStale(): boolean {
  return !existsSync(BRIDGE_BUNDLE) || statSync(BRIDGE_BUNDLE).mtimeMs < newestSource();
}

/**
 * The npm packages the bridge imports statically are CommonJS (ws, serialport): an ESM `import`
 * of one makes node translate it, which loads and runs its cjs-module-lexer over each package file;
 * require() does not. The bundle gets each through createRequire instead, its named exports read
 * from the package at build time: -0.9 MB RSS at start (docs/PERFORMANCE.md, "Robot footprint").
 * Dynamic import()s (werift, loaded only when used) are left as they are.
 */
const requireExternals: Plugin = {
  name: 'require-externals',
  setup(b) {
    const requireHere = createRequire(join(ROOT, 'package.json'));
    b.onResolve({ filter: /^[a-z@][^:]*$/ }, (args) => (args.kind === 'import-statement' ? { path: args.path, namespace: 'require-external' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'require-external' }, (args) => {
      const names = Object.keys(requireHere(args.path) as object).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default');
      const pkg = JSON.stringify(args.path);
      return {
        loader: 'js',
        resolveDir: ROOT,
        contents: `import { createRequire } from 'node:module';\nconst m = createRequire(import.meta.url)(${pkg});\nexport default m;\nexport const { ${names.join(', ')} } = m;\n`,
      };
    });
  },
};

/** Builds build/bridge.mjs; written to a temp file and renamed, so a concurrent start never runs half a file. */
export async function buildBridge(): Promise<{ file: string; bytes: number }> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [join(ROOT, 'bridge/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    outfile: BRIDGE_BUNDLE,
    legalComments: 'none',
    logLevel: 'warning',
    banner: { js: '// Generated by scripts/build-bridge.ts from bridge/main.ts: do not edit.' },
    plugins: [requireExternals],
  });
  const js = out.outputFiles[0]!;
  mkdirSync(dirname(BRIDGE_BUNDLE), { recursive: true });
  const tmp = `${BRIDGE_BUNDLE}.${process.pid}.tmp`;
  writeFileSync(tmp, js.contents);
  renameSync(tmp, BRIDGE_BUNDLE);
  return { file: BRIDGE_BUNDLE, bytes: js.contents.length };
}

/** Builds the bundle when a bridge source changed since the last build. */
export async function buildBridgeIfStale(log?: (name: string, line: string) => void): Promise<void> {
  if (!bridgeBundleIsStale()) return;
  const { bytes } = await buildBridge();
  log?.('build', `bridge bundled into ${BRIDGE_BUNDLE} (${Math.round(bytes / 1024)} kB)`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  if (process.argv.includes('--force') || bridgeBundleIsStale()) {
    const { file, bytes } = await buildBridge();
    console.log(`${file}: ${Math.round(bytes / 1024)} kB`);
  } else {
    console.log(`${BRIDGE_BUNDLE} is up to date`);
  }
}
