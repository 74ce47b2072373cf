// A relay on loopback for the server-mode tests on a fake clock (relay-link.test.ts,
// controller.test.ts): real sockets, so a test awaits the network's events, never the clock.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TestContext } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A relay on loopback that refuses robots (HTTP 503) while `refusing`, never answers them while
 * `holding`, and otherwise accepts them and stays silent: no pongs (autoPong off) and no frames
 * unless the test sends them; with `issueCredential` it first sends each robot a publish
 * credential, as the real relay does (server mode waits for one before it publishes).
 */
export async function relay(t: TestContext, opts: { issueCredential?: boolean } = {}) {
  const wss = new WebSocketServer({ noServer: true, autoPong: false });
  const server = http.createServer();
  const state = { refusing: true, holding: false, attempts: 0 };
  const held = new Set<Duplex>();
  server.on('upgrade', (req, socket, head) => {
    state.attempts++;
    if (state.holding) {
      held.add(socket);
      return;
    }
    if (state.refusing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (opts.issueCredential) ws.send(JSON.stringify({ v: 1, type: 'publish_credential', user: 'sim', password: `hp_${'0'.repeat(71)}`, expiresAt: Date.now() + 600_000 }));
      wss.emit('connection', ws);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(async () => {
    for (const c of wss.clients) c.terminate();
    for (const s of held) s.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws/robot/sim`;
  const connected = () => once(wss, 'connection').then(([ws]) => ws as WebSocket);
  /** The next upgrade request, once the relay has seen (and, while holding, kept) it. */
  const upgrade = () => once(server, 'upgrade').then(([, socket]) => socket as Duplex);
  return { url, state, connected, upgrade };
}

/** node:test's fake timers and Date, from 0. */
export function fakeTime(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
  return {
    now: () => Date.now(),
    /** 1 ms at a time, so each timer runs at the time it was due and reads that time. */
    advance(by: number) { for (let i = 0; i < by; i++) t.mock.timers.tick(1); },
  };
}

/**
 * Resolves once the robot's end of a socket it closed on purpose is closed too (call it after the
 * stop: stopping drops the socket's 'close' listeners). Closing clears the ws library's and the
 * link's timers, and a fake timer cleared after its test is over can remove the next test's first.
 */
export function robotSideClosed(ws: WebSocket | null): Promise<void> {
  if (!ws || ws.readyState === ws.CLOSED) return Promise.resolve();
  // Not events.once: an attempt aborted while connecting emits 'error' first, which is expected here.
  return new Promise((resolve) => ws.once('close', () => resolve()));
}

/** The fake clock and a relay that accepts robots (or refuses them, with `accepting` false). */
export async function relayOnFakeClock(t: TestContext, accepting = true, opts: { issueCredential?: boolean } = {}) {
  const clock = fakeTime(t);
  const r = await relay(t, opts);
  r.state.refusing = !accepting;
  return { clock, r };
}
