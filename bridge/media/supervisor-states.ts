// The supervisor's lifecycle and every transition in it, listed once (FfmpegSupervisor in
// supervisor.ts moves only along these; docs/ARCHITECTURE.md lists them).

import type { Transitions } from '../../common/state-machine.ts';

/** What callers see in status and 'status' events. */
export type SupervisorState = 'starting' | 'running' | 'restarting' | 'stopped' | 'failed';

/**
 * SupervisorState plus 'stopping': stop()/finish() waiting for the child to go. It is not
 * reported — until the child is gone, callers see what it was doing (an encoder that exits on
 * stop must still read as 'running', not as a crash or as stopped).
 */
export type Lifecycle = SupervisorState | 'stopping';

/**
 * stopped → failed and restarting → failed: args() threw before a child could spawn.
 * stopping → starting: start() while stop() waits; the new child spawns once the old is gone.
 * starting/running → stopped|failed: a run-once child (restart: false) ended by itself.
 * failed → stopped: a spawn that failed (ENOENT) while stop() waited for it.
 */
export const SUPERVISOR_TRANSITIONS: Transitions<Lifecycle> = {
  stopped: ['starting', 'failed'],
  starting: ['running', 'restarting', 'stopping', 'stopped', 'failed'],
  running: ['restarting', 'stopping', 'stopped', 'failed'],
  restarting: ['starting', 'stopped', 'failed'],
  stopping: ['stopped', 'starting', 'failed'],
  failed: ['starting', 'stopped'],
};
