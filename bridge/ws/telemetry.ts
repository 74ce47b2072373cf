// The telemetry frame as of now, from the hardware's state: sent at 5 Hz to local sessions and,
// in server mode, over the relay link. Motor values are clamped to the protocol's -1..1 (a board
// reporting NaN or out-of-range speeds must not make the frame invalid).
import { msg, type TelemetryMsg } from '../../protocol/messages.ts';
import type { Hardware } from '../hardware/parts.ts';

const clampUnit = (x: number): number => Math.max(-1, Math.min(1, Number.isFinite(x) ? x : 0));

export function telemetryFrame(hardware: Hardware, now = Date.now()): TelemetryMsg {
  const st = hardware.motors.state;
  const m: Omit<TelemetryMsg, 'v'> = {
    type: 'telemetry',
    battery: st.battery ?? { voltage: 0, percentage: 0 },
    motors: { left: clampUnit(st.left), right: clampUnit(st.right) },
    serial: st.connected,
    ts: now,
  };
  const pose = hardware.pose?.();
  if (pose) m.pose = pose;
  return msg<TelemetryMsg>(m);
}
