// Keyboard driving: WASD and arrows give a stick vector, space stops. Mapping is pure; the
// tracker only remembers which keys are down (the drive timer samples it, keys do not send).

import type { Vec } from './mix.ts';

const FORWARD = new Set(['KeyW', 'ArrowUp']);
const BACKWARD = new Set(['KeyS', 'ArrowDown']);
const LEFT = new Set(['KeyA', 'ArrowLeft']);
const RIGHT = new Set(['KeyD', 'ArrowRight']);

export const isDriveKey = (code: string): boolean =>
  FORWARD.has(code) || BACKWARD.has(code) || LEFT.has(code) || RIGHT.has(code);
export const isStopKey = (code: string): boolean => code === 'Space';

/** Keys held → stick vector. Opposite keys cancel; a diagonal is normalised to the unit circle. */
export function keysToVector(pressed: ReadonlySet<string>): Vec {
  const any = (set: Set<string>): boolean => [...set].some((k) => pressed.has(k));
  const y = (any(FORWARD) ? 1 : 0) - (any(BACKWARD) ? 1 : 0);
  const x = (any(RIGHT) ? 1 : 0) - (any(LEFT) ? 1 : 0);
  const m = Math.hypot(x, y);
  return m > 1 ? { x: x / m, y: y / m } : { x, y };
}

/** Typing in a text box (the TTS field) must never drive the robot. */
export function isTypingTarget(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || typeof el.tagName !== 'string') return false;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

/** Remembers the drive keys held down; forgets all of them when the window loses focus. */
export class KeyboardTracker {
  readonly pressed = new Set<string>();
  private readonly onDown = (e: KeyboardEvent): void => {
    if (isTypingTarget(e.composedPath()[0] ?? e.target)) return;
    if (isStopKey(e.code)) {
      e.preventDefault();
      this.pressed.clear();
      this.onStop();
    } else if (isDriveKey(e.code)) {
      e.preventDefault();
      this.pressed.add(e.code);
    }
  };
  private readonly onUp = (e: KeyboardEvent): void => {
    this.pressed.delete(e.code);
  };
  private readonly onBlur = (): void => this.pressed.clear();

  constructor(private readonly onStop: () => void, private readonly target: Window = window) {}

  attach(): void {
    this.target.addEventListener('keydown', this.onDown);
    this.target.addEventListener('keyup', this.onUp);
    this.target.addEventListener('blur', this.onBlur);
  }
  detach(): void {
    this.target.removeEventListener('keydown', this.onDown);
    this.target.removeEventListener('keyup', this.onUp);
    this.target.removeEventListener('blur', this.onBlur);
    this.pressed.clear();
  }
  get active(): boolean {
    return this.pressed.size > 0;
  }
  vector(): Vec {
    return keysToVector(this.pressed);
  }
}
