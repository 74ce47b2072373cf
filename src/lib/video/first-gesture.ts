// Sound needs a gesture. Video starts muted — the only autoplay every browser allows; iOS Safari
// also needs `playsinline` or it takes the video to full screen — and the operator's first tap or
// key press anywhere is the gesture that may start the sound (iOS refuses it at any other time).

/** Events that count as a user gesture for audio: touch ends, clicks and keys (not touchstart). */
const GESTURES = ['pointerup', 'touchend', 'click', 'keydown'] as const;

/** Calls `act` once, inside the first gesture on `target` (capture phase, before any handler stops it). */
export function onFirstGesture(target: EventTarget, act: (e: Event) => void): () => void {
  const off = (): void => { for (const g of GESTURES) target.removeEventListener(g, handler, true); };
  const handler = (e: Event): void => {
    off();
    act(e);
  };
  for (const g of GESTURES) target.addEventListener(g, handler, true);
  return off;
}

/** Did the gesture land on a control marked `data-sound-toggle` (a choice about sound of its own)? */
export function onSoundToggle(e: Event): boolean {
  return e.composedPath().some((n) => n instanceof Element && n.hasAttribute('data-sound-toggle'));
}
