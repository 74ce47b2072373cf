// Runs IN the phone's Chromium for bench/field.ts (bundled with measure.js): the app's own driving
// code — RelayLink (its WsLink state machine, heartbeat and reconnects), RobotState, CommandQueue
// and DriveController with its DriveSender at the app's pace — with a simulated hand on the stick,
// so what the bench reports after loss, jitter or an outage is what the app does.
// The hand does what the app asks of an operator and nothing more: it presses "Take control" when
// the lease is free, and after a halt (link degraded or lost, not the driver) it lets go of the
// stick and presses it again, as the app requires before it drives again.
// Each drive command's left track is 100-149/255, stepped per command: the simulator's motor
// frames then say which command the robot obeyed last.
import { DriveController } from '../../src/lib/control/drive-controller.ts';
import { CommandQueue } from '../../src/lib/link/command-queue.ts';
import { RelayLink } from '../../src/lib/link/relay-link.ts';
import { RobotState } from '../../src/lib/link/robot-state.ts';

/** The stick's forward travel giving left track PWM 100 + k (dead zone 8 %, linear, full speed). */
const stickFor = (k) => ({ x: 0, y: 0.08 + 0.92 * ((100 + k) / 255) });
const IDENTITIES = 50;

/** Nothing to keep: the bench sends no text-to-speech. */
const noOutbox = { all: async () => [], put: async () => {}, delete: async () => {} };

/** Wall-clock times (ms) of every frame the element presents, from requestVideoFrameCallback. */
function recordFrames(el, into) {
  const onFrame = (now) => { into.push(performance.timeOrigin + now); el.requestVideoFrameCallback(onFrame); };
  el.requestVideoFrameCallback(onFrame);
}

/**
 * Starts driving through the relay as the app does. Everything is stamped with Date.now() (the
 * bench and the simulator share this machine's clock).
 */
function start({ serverUrl, token }) {
  const rec = { frames: [], sends: [], out: [], acks: [], stops: [], statuses: [], driverAt: [], takes: 0 };
  // When each sign of life left the page (drive, motor, heartbeat; over the socket or a data
  // channel): the deadman counts from the last one sent, and so does the bench's departure stop.
  const feeds = /"type":"(drive|motor|heartbeat)"/;
  for (const Ctor of [WebSocket, globalThis.RTCDataChannel].filter(Boolean)) {
    const send = Ctor.prototype.send;
    Ctor.prototype.send = function (data) {
      if (typeof data === 'string' && feeds.test(data)) rec.out.push(Date.now());
      return send.call(this, data);
    };
  }
  const video = document.querySelector('video');
  if (video) recordFrames(video, rec.frames);
  const link = new RelayLink({ target: () => ({ serverUrl, token }), hello: () => ({ name: 'bench-field' }) });
  const robot = new RobotState(link);
  const queue = new CommandQueue(link, noOutbox);
  let k = 0;
  let held = true;
  const host = { addController() {}, removeController() {}, requestUpdate() {}, updateComplete: Promise.resolve(true) };
  const settings = { value: { joystickSensitivity: 100, speedLimit: 100 } };
  const controller = new DriveController(host, { link, robot, queue, settings });
  // Every drive command that left, with the identity its left track carries.
  const send = link.send.bind(link);
  link.send = (m) => {
    const ok = send(m);
    if (ok && m.type === 'drive') {
      rec.sends.push([m.t, m.seq, Math.round(m.left * 255)]);
      k = (k + 1) % IDENTITIES;
      if (held) controller.setStick(stickFor(k), true);
    }
    return ok;
  };
  link.on('message', (m) => {
    if (m.type === 'ack') rec.acks.push([Date.now(), Date.now() - m.t, m.seq, m.result]);
    else if (m.type === 'stopped') rec.stops.push([Date.now(), m.reason]);
  });
  link.on('status', (s) => rec.statuses.push([Date.now(), s.state]));
  let wasDriver = false;
  let lastTake = 0;
  const hand = setInterval(() => {
    if (robot.isDriver !== wasDriver) {
      wasDriver = robot.isDriver;
      if (wasDriver) rec.driverAt.push(Date.now());
    }
    // "Take control" is offered when the link is live and nobody drives.
    if (link.status.state === 'live' && !robot.isDriver && robot.lease.driver === null && Date.now() - lastTake > 500) {
      lastTake = Date.now();
      rec.takes++;
      link.send({ v: 1, type: 'lease', action: 'take' });
    }
    if (controller.halted && held) { held = false; controller.setStick({ x: 0, y: 0 }, false); }
    else if (!controller.halted && !held) { held = true; controller.setStick(stickFor(k), true); }
  }, 20);
  controller.setStick(stickFor(k), true);
  link.start();
  controller.hostConnected();
  return {
    /** Everything recorded so far (copies: the page keeps recording). */
    snapshot: () => ({ ...rec, frames: rec.frames.slice(), sends: rec.sends.slice(), out: rec.out.slice(), acks: rec.acks.slice(), stops: rec.stops.slice(), statuses: rec.statuses.slice(), driverAt: rec.driverAt.slice(), now: Date.now() }),
    isDriver: () => robot.isDriver,
    /** Lets go of the stick (one stop goes out) and closes the link. */
    stop() {
      clearInterval(hand);
      controller.hostDisconnected();
      link.stop('bench over');
    },
  };
}

export const fieldDriver = { start };
