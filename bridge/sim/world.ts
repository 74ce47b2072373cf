// The simulated robot's body: two tracks driven by PWM, a pose that integrates them, and a 2S
// Li-ion pack that sags and drains with load. Numbers are those of a small hobby tank chassis.

/** Distance between the two tracks' centre lines, metres. */
export const TRACK_WIDTH_M = 0.18;
/** Track speed at full PWM (255), metres per second. */
export const MAX_TRACK_SPEED_MPS = 0.6;
/** Below this PWM the gearbox does not turn (static friction). */
export const PWM_DEADBAND = 20;

/** A full 2S Li-ion pack and the voltage where the robot should be put on the charger. */
export const BATTERY_FULL_MV = 8400;
export const BATTERY_EMPTY_MV = 6400;
/**
 * Simulated pack capacity in milliamp-seconds. Deliberately small (150 mAh) so that driving
 * drains it visibly within minutes in a demo (full to empty in about 7 minutes of full-speed
 * driving) while idling takes almost 4 hours.
 */
export const BATTERY_CAPACITY_MAS = 150 * 3600;
/** Current drawn by the Pi, camera and board while idle, mA. */
export const IDLE_CURRENT_MA = 40;
/** Extra current per motor at full PWM, mA. */
export const MOTOR_CURRENT_MA = 600;
/** Internal resistance of the pack, ohms: the voltage sags while the motors pull. */
export const PACK_RESISTANCE_OHM = 0.15;

export interface Pose {
  /** Metres from the start, x forward at heading 0. */
  x: number;
  y: number;
  /** Radians, counter-clockwise, wrapped to (-π, π]. */
  heading: number;
}

const clampPwm = (p: number): number => (Number.isFinite(p) ? Math.max(-255, Math.min(255, p)) : 0);
const speedOf = (pwm: number): number =>
  Math.abs(pwm) < PWM_DEADBAND ? 0 : (clampPwm(pwm) / 255) * MAX_TRACK_SPEED_MPS;
const wrap = (a: number): number => {
  const w = Math.atan2(Math.sin(a), Math.cos(a));
  return w === -Math.PI ? Math.PI : w;
};

export class SimWorld {
  pose: Pose = { x: 0, y: 0, heading: 0 };
  /** Distance travelled by the tracks' mid-point, metres (odometer). */
  distanceM = 0;
  /** Charge left, milliamp-seconds. */
  private chargeMas = BATTERY_CAPACITY_MAS;
  private loadMa = IDLE_CURRENT_MA;

  /** Advances the world by dtMs with the tracks at these PWM duties (-255..255). */
  update(leftPwm: number, rightPwm: number, dtMs: number): void {
    if (!(dtMs > 0) || !Number.isFinite(dtMs)) return;
    const dt = dtMs / 1000;
    const vl = speedOf(leftPwm);
    const vr = speedOf(rightPwm);
    const v = (vl + vr) / 2;
    const omega = (vr - vl) / TRACK_WIDTH_M;
    // Integrate along the arc's mid-heading: exact enough for 10 ms steps.
    const mid = this.pose.heading + (omega * dt) / 2;
    this.pose = {
      x: this.pose.x + v * Math.cos(mid) * dt,
      y: this.pose.y + v * Math.sin(mid) * dt,
      heading: wrap(this.pose.heading + omega * dt),
    };
    this.distanceM += Math.abs(v) * dt;
    this.loadMa = IDLE_CURRENT_MA + MOTOR_CURRENT_MA * ((Math.abs(clampPwm(leftPwm)) + Math.abs(clampPwm(rightPwm))) / 255);
    this.chargeMas = Math.max(0, this.chargeMas - this.loadMa * dt);
  }

  /** Battery voltage now, millivolts: open-circuit voltage from charge, minus sag under load. */
  get batteryMv(): number {
    const soc = this.chargeMas / BATTERY_CAPACITY_MAS;
    const open = BATTERY_EMPTY_MV + (BATTERY_FULL_MV - BATTERY_EMPTY_MV) * soc;
    const sag = (this.loadMa / 1000) * PACK_RESISTANCE_OHM * 1000;
    return Math.max(0, Math.round(open - sag));
  }

  /** Sets the pack's open-circuit voltage (tests and the control API), clamped to the pack's range. */
  setBatteryMv(mv: number): void {
    const soc = (Math.max(BATTERY_EMPTY_MV, Math.min(BATTERY_FULL_MV, mv)) - BATTERY_EMPTY_MV) / (BATTERY_FULL_MV - BATTERY_EMPTY_MV);
    this.chargeMas = soc * BATTERY_CAPACITY_MAS;
  }
}
