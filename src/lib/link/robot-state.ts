// What the robot last told us, kept in one place for every view: telemetry, who drives, the
// speaker, the last stop and the last error. Fed by the link's messages; reset when it drops.

import type { ErrorMsg, LeaseStateMsg, RecordingMsg, StoppedMsg, TalkStateMsg, TelemetryMsg } from '../../../protocol/messages.ts';
import { Emitter } from './emitter.ts';
import type { Link } from './link.ts';

export interface LeaseView { driver: string | null; driverName: string | null; you: boolean; requestedBy?: string }

export class RobotState {
  private readonly events = new Emitter<{ change: void }>();
  session: string | null = null;
  robotName: string | null = null;
  telemetry: TelemetryMsg | null = null;
  lease: LeaseView = { driver: null, driverName: null, you: false };
  talk: TalkStateMsg | null = null;
  lastStopped: StoppedMsg | null = null;
  lastError: ErrorMsg | null = null;
  /** The server's last word on recording the robot (server mode: from the relay, or passed on by the bridge; null: not known). */
  recording: RecordingMsg | null = null;
  private readonly unsubs: (() => void)[];

  constructor(link: Link) {
    this.unsubs = [
      link.on('message', (m) => {
        switch (m.type) {
          case 'welcome':
            this.session = m.session;
            this.robotName = m.robot;
            this.lease = { driver: m.driver, driverName: null, you: m.driver !== null && m.driver === m.session };
            break;
          case 'lease':
            this.lease = leaseOf(m);
            break;
          case 'telemetry':
            this.telemetry = m;
            break;
          case 'talk_state':
            this.talk = m;
            break;
          case 'stopped':
            this.lastStopped = m;
            break;
          case 'error':
            this.lastError = m;
            break;
          case 'recording': // the bridge passing the relay's word on to local operators
            this.recording = m;
            break;
          default:
            return;
        }
        this.events.emit('change', undefined);
      }),
      link.on('status', (s) => {
        if (s.state === 'lost' || s.state === 'closed') {
          // A new socket is a new session: nobody is "you" until the robot says so again.
          this.session = null;
          this.lease = { driver: null, driverName: null, you: false };
          this.talk = null;
          this.recording = null;
          this.events.emit('change', undefined);
        }
      }),
    ];
  }

  /** The relay said whether it records (RelayLink's `recording` event; on the local link it is a message). */
  recordingChanged(m: RecordingMsg): void {
    this.recording = m;
    this.events.emit('change', undefined);
  }

  get isDriver(): boolean {
    return this.lease.you;
  }

  on(type: 'change', fn: () => void): () => void {
    return this.events.on(type, fn);
  }

  dispose(): void {
    for (const u of this.unsubs) u();
  }
}

const leaseOf = (m: LeaseStateMsg): LeaseView =>
  m.requestedBy ? { driver: m.driver, driverName: m.driverName, you: m.you, requestedBy: m.requestedBy } : { driver: m.driver, driverName: m.driverName, you: m.you };
