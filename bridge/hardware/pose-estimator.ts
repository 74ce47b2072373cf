// Where the simulated robot is, as the bridge can know it: dead reckoning from the track speeds
// the motor board reports, with the simulator's own kinematics (SimWorld), so the synthetic camera
// and telemetry follow the robot without a side channel to the simulator process.

import { toPwm } from '../../protocol/serial.ts';
import { SimWorld } from '../sim/world.ts';
import type { Pose } from './parts.ts';
import type { Motors } from './types.ts';

export const POSE_STEP_MS = 20;

export class PoseEstimator {
  private world = new SimWorld();
  private timer: NodeJS.Timeout;
  private last = performance.now();

  constructor(private motors: Motors) {
    this.timer = setInterval(() => this.step(), POSE_STEP_MS);
    this.timer.unref();
  }

  private step(): void {
    const now = performance.now();
    const { left, right, connected } = this.motors.state;
    if (connected) this.world.update(toPwm(left), toPwm(right), now - this.last);
    this.last = now;
  }

  get pose(): Pose {
    return { ...this.world.pose };
  }

  close(): void {
    clearInterval(this.timer);
  }
}
