// Brings up a field network with a profile and holds it until Ctrl-C (or SIGTERM), for poking at
// by hand and for the cleanup test; optionally runs one command inside a namespace.
//   node --import tsx field/up.ts [--profile 4g] [--in robot|server|phone -- command args…]
// Prints one JSON line when ready: the run id, namespace names, addresses, and the pid of the
// command when one was given.
import { parseArgs } from 'node:util';
import { spawnGroup } from '../scripts/children.ts';
import { createFieldNet, type Place } from './netns.ts';
import { profileByName, wireProfiles } from './profiles.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { profile: { type: 'string', default: 'wired' }, in: { type: 'string', default: 'robot' } },
});
if (!['robot', 'server', 'phone'].includes(values.in)) throw new Error(`--in must be robot, server or phone, got "${values.in}"`);
const net = await createFieldNet(wireProfiles(profileByName(values.profile)));
let pid: number | undefined;
if (positionals.length) {
  const [cmd, args] = net.wrap(values.in as Place, positionals[0]!, positionals.slice(1));
  pid = spawnGroup('command', cmd, args, { stdio: 'inherit' }).pid;
}
process.stdout.write(`${JSON.stringify({ event: 'ready', runId: net.runId, ns: net.ns, addresses: net.addresses, pid })}\n`);
// Held until a signal: netns.ts removes everything then, and ends the process as the signal would.
setInterval(() => {}, 1 << 30);
