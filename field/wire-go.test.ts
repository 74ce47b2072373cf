// The wire's pure parts (profile parsing, loss and Gilbert-Elliott models, the rate cap's queue,
// ordering under jitter, the outage schedule, control commands) are Go unit tests beside the code
// (field/wire/*_test.go); this runs them as part of npm test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const go = spawnSync('go', ['version']).status === 0 ? 'go' : '/usr/local/go/bin/go';

test('go test ./... passes in field/wire', { skip: spawnSync(go, ['version']).status === 0 ? false : 'no Go toolchain' }, () => {
  const r = spawnSync(go, ['test', '-count=1', './...'], { cwd: new URL('./wire', import.meta.url).pathname, encoding: 'utf8', env: { ...process.env, CGO_ENABLED: '0' } });
  assert.equal(r.status, 0, `go test failed:\n${r.stdout}\n${r.stderr}`);
});
