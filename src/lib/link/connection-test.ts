// "Test connection": checks each piece of server mode on its own and says, item by item, what
// works and what does not — relay /health, the session on the relay's WebSocket (and whether the
// robot is connected to it), WHEP (is the robot's stream readable), WHIP (may this session talk)
// and the robot's own server-mode status from the bridge. Nothing is retried; each check has a
// deadline; every socket, peer connection and timer is closed before the check returns.

import { relayWsUrl } from './relay-link.ts';
import { serverHealthy } from './server-api.ts';
import type { Settings } from '../storage/settings.ts';

export type CheckKey = 'relay' | 'session' | 'whep' | 'whip' | 'robot';
export type CheckResult = 'running' | 'ok' | 'fail' | 'skip';
export interface CheckItem { key: CheckKey; label: string; result: CheckResult; detail: string }

export const CHECK_LABELS: Record<CheckKey, string> = {
  relay: 'Relay (/health)',
  session: 'Session and relay socket',
  whep: 'Video from the server (WHEP)',
  whip: 'Talk to the server (WHIP)',
  robot: 'Robot’s server mode',
};

const WS_TIMEOUT_MS = 4000;

export interface TestDeps {
  settings: Settings;
  /** Relay address to test (the form's, else the app's session server). */
  serverUrl: string;
  /** The robot's `GET /server/status` through the bridge (null: not reachable). */
  robotStatus: () => Promise<{ state: string; publishing: boolean; relay_connected: boolean; last_error: string | null } | null>;
  /** A WHEP/WHIP probe: resolves with a sentence, rejects with the reason. */
  rtcProbe: (kind: 'whep' | 'whip', url: string, token: string) => Promise<string>;
  fetch?: typeof fetch;
  WebSocketImpl?: new (url: string) => WebSocket;
}

/** Runs every check in order, reporting each item as it changes. */
export async function testConnection(deps: TestDeps, report: (items: CheckItem[]) => void): Promise<CheckItem[]> {
  const items: CheckItem[] = (Object.keys(CHECK_LABELS) as CheckKey[]).map((key) => ({ key, label: CHECK_LABELS[key], result: 'running', detail: '' }));
  const set = (key: CheckKey, result: CheckResult, detail: string): void => {
    const i = items.findIndex((x) => x.key === key);
    items[i] = { ...items[i]!, result, detail };
    report([...items]);
  };
  report([...items]);
  const s = deps.settings;
  const hasSession = !!(s.sessionToken && s.robotId && s.sessionExpiresAt > Date.now());

  // 1. Relay.
  if (!deps.serverUrl) set('relay', 'skip', 'No server address: fill in the server URL or open an invite link.');
  else if (await serverHealthy(deps.serverUrl, deps.fetch)) set('relay', 'ok', `${deps.serverUrl} answers.`);
  else set('relay', 'fail', `${deps.serverUrl}/health does not answer 200 (relay down, or MediaMTX/Redis behind it).`);

  // 2. Session + socket.
  if (!hasSession || !s.serverUrl) set('session', 'skip', 'No server session in this app: open an invite link.');
  else {
    const r = await wsCheck(relayWsUrl({ serverUrl: s.serverUrl, token: s.sessionToken }, `test-${Math.random().toString(36).slice(2, 10)}`), deps.WebSocketImpl);
    set('session', r.ok ? 'ok' : 'fail', r.detail);
  }

  // 3-4. WHEP / WHIP.
  for (const kind of ['whep', 'whip'] as const) {
    const url = kind === 'whep' ? s.whepUrl : s.whipUrl;
    if (!hasSession || !url) set(kind, 'skip', 'No server session in this app: open an invite link.');
    else if (kind === 'whip' && s.sessionRole !== 'driver') set(kind, 'skip', 'This session is a viewer: only drivers talk.');
    else {
      try {
        set(kind, 'ok', await deps.rtcProbe(kind, url, s.sessionToken));
      } catch (e) {
        set(kind, 'fail', (e as Error).message);
      }
    }
  }

  // 5. The robot's side.
  const st = await deps.robotStatus().catch(() => null);
  if (!st) set('robot', 'fail', 'The bridge did not answer GET /server/status (local address and token in Settings).');
  else {
    const detail = `state ${st.state}; relay ${st.relay_connected ? 'connected' : 'not connected'}; ${st.publishing ? 'publishing' : 'not publishing'}${st.last_error ? `; last error: ${st.last_error}` : ''}`;
    set('robot', st.state === 'live' && st.publishing ? 'ok' : 'fail', detail);
  }
  return items;
}

/** Opens the relay socket once and waits for the welcome and the robot's presence. */
function wsCheck(url: string, Impl: new (url: string) => WebSocket = WebSocket): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    let ws: WebSocket;
    try {
      ws = new Impl(url);
    } catch (e) {
      resolve({ ok: false, detail: (e as Error).message });
      return;
    }
    let welcomed = false;
    const finish = (r: { ok: boolean; detail: string }): void => {
      clearTimeout(timer);
      ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: welcomed ? 'Welcomed, but the relay did not say whether the robot is online.' : 'The relay socket did not answer in time.' }), WS_TIMEOUT_MS);
    ws.onmessage = (ev: MessageEvent) => {
      let m: { type?: string; online?: boolean } = {};
      try {
        m = JSON.parse(String(ev.data)) as typeof m;
      } catch {
        return;
      }
      if (m.type === 'welcome') welcomed = true;
      if (m.type === 'robot') finish({ ok: m.online === true, detail: m.online ? 'Session valid; the robot is connected to the relay.' : 'Session valid, but the robot is not connected to the relay.' });
    };
    ws.onclose = (ev: CloseEvent) => finish({ ok: false, detail: `The relay closed the socket (${ev.code}${ev.reason ? `: ${ev.reason}` : ''}) — session expired or refused?` });
  });
}
