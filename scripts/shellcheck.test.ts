// Every shell script in the repository passes shellcheck (all severities, style included): found by
// name (*.sh) or by a sh/bash shebang among the files git tracks, so a new script is checked
// without being listed here. Skips, saying so, where shellcheck is missing (scripts/setup.sh
// installs it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
const hasShellcheck = spawnSync('sh', ['-c', 'command -v shellcheck']).status === 0;

/** A shell script: named *.sh, or starting with a sh/bash/dash shebang. */
export function isShellScript(path: string, firstLine: string): boolean {
  return /\.(sh|bash)$/.test(path) || /^#!\s*(\/usr)?\/bin\/(env\s+)?(ba|da)?sh\b/.test(firstLine);
}

function shellScripts(): string[] {
  const ls = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(ls.status, 0, `git ls-files: ${ls.stderr}`);
  return ls.stdout.split('\0').filter(Boolean).filter((p) => {
    if (/\.(sh|bash)$/.test(p)) return true;
    let head = '';
    try { head = readFileSync(join(ROOT, p), 'utf8').slice(0, 200).split('\n')[0]!; } catch { return false; } // a deleted or unreadable file
    return isShellScript(p, head);
  });
}

describe('shell scripts', () => {
  const scripts = shellScripts();

  test('the finder knows a shell script when it sees one', () => {
    assert.ok(isShellScript('x/run', '#!/usr/bin/env bash'));
    assert.ok(isShellScript('x/run', '#!/bin/sh'));
    assert.ok(isShellScript('deploy.sh', ''));
    assert.ok(!isShellScript('x/run.ts', '#!/usr/bin/env node'));
    assert.ok(!isShellScript('README.md', '# Havatar'));
    for (const s of ['server/deploy-server.sh', 'scripts/setup.sh', 'scripts/reaper.sh', 'deploy/pi/install.sh', '.ci/run']) {
      assert.ok(scripts.includes(s), `${s} is among ${scripts.join(', ')}`);
    }
  });

  test('every one passes shellcheck', (t) => {
    if (!hasShellcheck) return t.skip('shellcheck is not installed (apt-get install shellcheck; scripts/setup.sh does)');
    const r = spawnSync('shellcheck', ['--severity=style', '--format=gcc', ...scripts], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `shellcheck found:\n${r.stdout}${r.stderr}`);
  });
});
