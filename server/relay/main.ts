// The relay's CLI.
//   node --import tsx server/relay/main.ts [serve] [--port 3000] [--host 0.0.0.0] [--data-dir DIR]
//        [--app-origin https://app.example] [--app-url URL] [--public-url URL] [--trust-proxy]
//   node --import tsx server/relay/main.ts invite --robot sim --role driver [--ttl 1h] [--uses 1]
//   node --import tsx server/relay/main.ts register --robot sim [--password P]
//   node --import tsx server/relay/main.ts record-start|record-stop|recordings --robot sim [--relay-url URL]
//        (recording: asks the running relay's admin API with ADMIN_API_KEY; default http://127.0.0.1:$PORT)
//   node --import tsx server/relay/main.ts backup <file>            (backup.ts; safe while relays run)
//   node --import tsx server/relay/main.ts restore <file> [--force] (into an empty store unless --force)
// Environment: ADMIN_API_KEY, REDIS_URL (redis://:<password>@host:port), MEDIAMTX_API_URL (default
// http://127.0.0.1:9997; 'none' skips the health check), MEDIAMTX_API_SECRET (>= 16 characters; the
// password of MediaMTX's API and metrics, which this relay's auth hook checks and its calls send),
// HAVATAR_DATA_DIR, APP_ORIGINS, APP_URL, PUBLIC_URL, PORT, TRUST_PROXY=1,
// MEDIA_PUBLIC_URL / HLS_PUBLIC_URL (MediaMTX's WebRTC and HLS bases as browsers reach them, handed
// out with sessions; default http://<relay host>:8889 and :8888),
// MEDIAMTX_AUTH_SECRET (>= 16 characters; the password in MediaMTX's authHTTPAddress, without which
// the auth hook refuses every call), RECORDINGS_DIR (where MediaMTX records, as the relay sees it:
// without it recording is off), RECORDING_MIN_FREE_MB (the disk guard's floor, default 1024),
// MEDIAMTX_PLAYBACK_URL (MediaMTX's playback server for the admin's listing, default
// http://127.0.0.1:9996), PLAYBACK_PUBLIC_URL (the same as browsers reach it), RELAY_LIMITS (JSON overrides of server/relay/limits.ts, e.g. '{"leaseIdleMs":5000}'),
// HAVATAR_RELAY_DATAGRAM=off, HAVATAR_RELAY_ICE_ADDRESSES, HAVATAR_RELAY_UDP_PORTS=min-max,
// HAVATAR_RELAY_PUBLIC_HOST (the drive datagram channel, server/relay/datagram.ts).
// `serve` prints one JSON line {"event":"listening","port":N} on stdout when ready; logs go to stderr.
import { join } from 'node:path';
import { createLogger } from '../../common/log.ts';
import { watchParent } from '../../common/parent-watch.ts';
import type { Role } from '../../protocol/messages.ts';
import { Access, parseDuration } from './access.ts';
import { BadBackup, readBackup, writeBackup } from './backup.ts';
import { datagramConfigFromEnv } from './datagram.ts';
import { MAX_USES, parseUses } from './invites.ts';
import { parseLimitOverrides, RelayLimits } from './limits.ts';
import { MediaKick } from './media-kick.ts';
import { MIN_API_SECRET_LENGTH, withApiCredential } from './internal-api.ts';
import { hashRobotPassword } from './robot-password.ts';
import { createRelay, inviteLinkFor, makeStore } from './server.ts';
import { isEmptyState, RedisStore, type Store } from './store.ts';
import { MEDIAMTX_PORTS } from '../../protocol/limits.ts';
import { MIN_HOOK_SECRET_LENGTH } from './mediamtx-auth.ts';

const log = createLogger('relay');
/** How long a one-shot command (backup, restore) waits for Redis before it gives up. */
const CLI_REDIS_WAIT_MS = 5000;

function parseArgs(argv: string[]): { cmd: string; flags: Map<string, string>; file: string | undefined } {
  const flags = new Map<string, string>();
  let cmd = 'serve';
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      const next = argv[i + 1];
      if (inline !== undefined) flags.set(k, inline);
      else if (next !== undefined && !next.startsWith('--')) { flags.set(k, next); i++; }
      else flags.set(k, 'true');
    } else if (i === 0) cmd = a;
    else if (file === undefined && (cmd === 'backup' || cmd === 'restore')) file = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  return { cmd, flags, file };
}

function die(message: string): never {
  process.stderr.write(`relay: ${message}\n`);
  process.exit(2);
}

const { cmd, flags, file } = (() => { try { return parseArgs(process.argv.slice(2)); } catch (e) { die((e as Error).message); } })();
const env = process.env;
const dataDir = flags.get('data-dir') ?? (env.HAVATAR_DATA_DIR ? join(env.HAVATAR_DATA_DIR, 'relay') : join(process.cwd(), '.havatar', 'relay'));
const redisUrl = flags.get('redis-url') ?? env.REDIS_URL ?? undefined;
const appUrl = flags.get('app-url') ?? env.APP_URL ?? 'http://127.0.0.1:5173/';
const publicUrl = flags.get('public-url') ?? env.PUBLIC_URL ?? undefined;

if (cmd === 'serve') {
  const port = Number(flags.get('port') ?? env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) die('--port must be 0-65535');
  const mtx = flags.get('mediamtx-api-url') ?? env.MEDIAMTX_API_URL ?? `http://127.0.0.1:${MEDIAMTX_PORTS.api}`;
  const origins = (flags.get('app-origin') ?? env.APP_ORIGINS ?? new URL(appUrl).origin).split(',').map((s) => s.trim()).filter(Boolean);
  const limits = (() => { try { return parseLimitOverrides(env.RELAY_LIMITS); } catch (e) { die((e as Error).message); } })();
  const host = flags.get('host') ?? env.HOST ?? '0.0.0.0';
  const datagram = (() => { try { return datagramConfigFromEnv(env, host); } catch (e) { die((e as Error).message); } })();
  const hookSecret = env.MEDIAMTX_AUTH_SECRET || undefined;
  if (hookSecret && hookSecret.length < MIN_HOOK_SECRET_LENGTH) die(`MEDIAMTX_AUTH_SECRET must have at least ${MIN_HOOK_SECRET_LENGTH} characters`);
  const apiSecret = env.MEDIAMTX_API_SECRET || undefined;
  if (apiSecret && apiSecret.length < MIN_API_SECRET_LENGTH) die(`MEDIAMTX_API_SECRET must have at least ${MIN_API_SECRET_LENGTH} characters`);
  if (!apiSecret && mtx !== 'none') log.warn('MEDIAMTX_API_SECRET not set: MediaMTX\'s API and metrics refuse everyone, this relay included (its health check fails and revoked media is not ended)');
  const mtxUrl = mtx === 'none' ? '' : withApiCredential(mtx, apiSecret);
  const floorMb = Number(env.RECORDING_MIN_FREE_MB ?? 1024);
  if (!Number.isFinite(floorMb) || floorMb < 0) die('RECORDING_MIN_FREE_MB must be a number of megabytes (0 or more)');
  const playback = env.MEDIAMTX_PLAYBACK_URL ?? `http://127.0.0.1:${MEDIAMTX_PORTS.playback}`;
  if (!env.ADMIN_API_KEY) log.warn('ADMIN_API_KEY not set: the admin API is off (the CLI still works)');
  const relay = await createRelay({
    port, host, dataDir, datagram,
    adminApiKey: env.ADMIN_API_KEY || undefined, redisUrl,
    mediamtxApiUrl: mtxUrl, mediamtxApiSecret: apiSecret, appOrigins: origins, appUrl, publicUrl,
    mediaPublicUrl: env.MEDIA_PUBLIC_URL || undefined, hlsPublicUrl: env.HLS_PUBLIC_URL || undefined,
    trustProxy: flags.has('trust-proxy') || env.TRUST_PROXY === '1', mediamtxAuthSecret: hookSecret, limits, log,
    recordingsDir: env.RECORDINGS_DIR || undefined, recordingMinFreeBytes: floorMb * 1048576,
    mediamtxPlaybackUrl: mtx === 'none' ? undefined : withApiCredential(playback, apiSecret), playbackPublicUrl: env.PLAYBACK_PUBLIC_URL || undefined,
  }).catch((err: Error) => die(`cannot start: ${err.message}`));
  // Revoked and expired sessions' WHEP/WHIP/HLS/RTSP media is ended through MediaMTX's API.
  if (mtx !== 'none') relay.hub.watchMedia(new MediaKick({ apiUrl: mtxUrl, log: log.child('media') }));
  // Invites saved before invites were single-use keep working as created: say so once.
  await relay.access.invites.noteUnlimited().catch(() => {});
  process.stdout.write(JSON.stringify({ event: 'listening', port: relay.port, redis: !!redisUrl }) + '\n');
  log.info('listening', { port: relay.port, dataDir: redisUrl ? null : dataDir, redis: !!redisUrl, appOrigins: origins });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    const force = setTimeout(() => process.exit(1), 3000);
    force.unref();
    void relay.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  watchParent(stop);
} else if (cmd === 'record-start' || cmd === 'record-stop' || cmd === 'recordings') {
  // The running relay does it (and tells everyone watching); this only asks its admin API.
  const robot = flags.get('robot') ?? die('--robot is required');
  const key = env.ADMIN_API_KEY || die('ADMIN_API_KEY must be set (the running relay\'s admin key)');
  const base = (flags.get('relay-url') ?? `http://127.0.0.1:${env.PORT ?? 3000}`).replace(/\/+$/, '');
  const action = cmd === 'recordings' ? '' : cmd === 'record-start' ? '/start' : '/stop';
  const res = await fetch(`${base}/api/recordings/${encodeURIComponent(robot)}${action}`, { method: action ? 'POST' : 'GET', headers: { authorization: `Bearer ${key}` } })
    .catch((err: Error) => die(`the relay at ${base} is not answering: ${err.message}`));
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) die(`${res.status}: ${String(body.msg ?? 'failed')}`);
  process.stdout.write(JSON.stringify(body) + '\n');
} else if (cmd === 'invite' || cmd === 'register') {
  const store = makeStore(dataDir, redisUrl);
  const access = new Access(store, { ...RelayLimits }, log.child('cli'), undefined);
  const robot = flags.get('robot') ?? die('--robot is required');
  try {
    if (cmd === 'invite') {
      const role = (flags.get('role') ?? 'driver') as Role;
      if (role !== 'driver' && role !== 'viewer') die('--role must be driver or viewer');
      const ttl = parseDuration(flags.get('ttl') ?? '24h') ?? die('--ttl must be like 30m, 1h, 7d');
      // Single-use unless asked: a forwarded or leaked link is no way in once it was used.
      const uses = (() => { try { return parseUses(flags.get('uses') ?? '1'); } catch { die(`--uses must be a whole number from 1 to ${MAX_USES}`); } })();
      const inv = await access.invites.createInvite(robot, role, ttl, uses);
      const link = inviteLinkFor(appUrl, publicUrl, inv.token);
      process.stdout.write(flags.has('json') ? JSON.stringify({ ...inv, link }) + '\n' : link + '\n');
    } else {
      const password = flags.get('password');
      let creds;
      if (password) {
        if (password.length < 16) die('--password must have at least 16 characters');
        await store.putRobot({ id: robot, secretHash: await hashRobotPassword(password), createdAt: Date.now() });
        creds = { robot, user: robot, password };
      } else {
        creds = await access.registerRobot(robot);
      }
      process.stdout.write(JSON.stringify(creds) + '\n');
    }
  } catch (err) {
    die((err as Error).message);
  } finally {
    await store.close();
  }
} else if (cmd === 'backup' || cmd === 'restore') {
  if (!file) die(`${cmd} needs a file: npm run relay -- ${cmd} <file>`);
  const storeKind = redisUrl ? 'redis' : 'file';
  const where = redisUrl ? 'the Redis store' : `the file store in ${dataDir}`;
  let store: Store | null = null;
  try {
    store = makeStore(dataDir, redisUrl);
    if (store instanceof RedisStore) await store.connected(CLI_REDIS_WAIT_MS);
    if (cmd === 'backup') {
      const state = await store.snapshot();
      // An empty backup is most often the wrong --data-dir or REDIS_URL: say so, still write it.
      if (isEmptyState(state)) log.warn(`${where} is empty: is this the relay you meant?`);
      const header = await writeBackup(file, state, storeKind);
      process.stdout.write(JSON.stringify({ event: 'backup_written', file, store: storeKind, ...header.counts, bytes: header.bytes, sha256: header.sha256 }) + '\n');
    } else {
      // Everything is checked before the store is touched: a bad file changes nothing.
      const { header, state } = await readBackup(file);
      const force = flags.has('force');
      const outcome = await store.replaceAll(state, force);
      if (outcome === 'not_empty') {
        die(`${where} already holds robots, invites or sessions: nothing was restored. Restore into an empty relay, or add --force to replace everything it holds with the backup`);
      }
      // Invites and sessions that expired since the backup are not brought back.
      const live = (r: { expiresAt: number }) => r.expiresAt > Date.now();
      process.stdout.write(JSON.stringify({
        event: 'restored', file, store: storeKind, from: header.store, createdAt: header.createdAt, force,
        robots: state.robots.length, invites: state.invites.filter(live).length, sessions: state.sessions.filter(live).length,
      }) + '\n');
    }
  } catch (err) {
    die(err instanceof BadBackup ? `${file}: ${err.message}; nothing was restored` : (err as Error).message);
  } finally {
    await store?.close();
  }
} else {
  die(`unknown command ${cmd} (serve, invite, register, backup, restore, record-start, record-stop, recordings)`);
}
