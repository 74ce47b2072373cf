// Browser tests for the app (src/**/*.test.ts) in Debian's Chromium: no browser download, fake
// camera and microphone so push-to-talk can be exercised without hardware.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { defaultReporter } from '@web/test-runner';
import { havatarRigPlugin } from './scripts/wtr-rig-plugin.mjs';

/** One closing line with the counts, for `npm test`'s total (the default reporter only draws a bar). */
function countReporter() {
  return {
    onTestRunFinished({ sessions }) {
      let passed = 0;
      let failed = 0;
      let skipped = 0;
      const walk = (suite) => {
        for (const t of suite.tests) {
          if (t.skipped) skipped++;
          else if (t.passed) passed++;
          else failed++;
        }
        for (const s of suite.suites) walk(s);
      };
      for (const s of sessions) {
        if (s.testResults) walk(s.testResults);
        // A file that failed to load has no results: count it as a failure.
        else if (!s.passed) failed++;
      }
      console.log(`web-test-runner: ${passed} passed, ${failed} failed, ${skipped} skipped`);
    },
  };
}

/** With HAVATAR_TEST_RESULTS=1 (`npm run test:repeat`): one JSON line per test, named with its suites. */
function resultLinesReporter() {
  return {
    onTestRunFinished({ sessions }) {
      for (const s of sessions) {
        const file = s.testFile;
        if (!s.testResults) {
          console.log(`HAVATAR-RESULT ${JSON.stringify({ file, name: '(file did not load)', passed: false, skipped: false, error: (s.errors ?? []).map((e) => e.message).join(' ') })}`);
          continue;
        }
        const walk = (suite, prefix) => {
          for (const t of suite.tests) {
            const error = t.error ? String(t.error.message).split('\n')[0].slice(0, 500) : undefined;
            console.log(`HAVATAR-RESULT ${JSON.stringify({ file, name: prefix + t.name, passed: t.passed, skipped: t.skipped, error })}`);
          }
          for (const sub of suite.suites) walk(sub, `${prefix}${sub.name} > `);
        };
        walk(s.testResults, '');
      }
    },
  };
}

export default {
  files: 'src/**/*.test.ts',
  nodeResolve: true,
  reporters: process.env.HAVATAR_TEST_RESULTS ? [resultLinesReporter()] : [defaultReporter(), countReporter()],
  concurrency: 1,
  // Lit's dev-mode notice on every file is noise; real warnings still show.
  filterBrowserLogs: ({ args }) => !String(args[0] ?? '').startsWith('Lit is in dev mode'),
  testFramework: { config: { timeout: 5000 } },
  // havatarRigPlugin: a real relay and bridge for the tests that ask for one (server-config-form.test.ts).
  plugins: [esbuildPlugin({ ts: true, tsconfig: './tsconfig.json' }), havatarRigPlugin()],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
      },
    }),
  ],
};
