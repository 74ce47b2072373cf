// The protocol's error frame, trimmed to what its validator accepts (message ≤ 500, field and ref
// ≤ 100 characters): a long parser message or a client-chosen ref must never turn our own answer
// into a frame the app refuses. The bridge (local sessions, relay peers) and the relay build it here.
import type { ErrorCode, ErrorMsg } from '../protocol/messages.ts';

export const MAX_ERROR_MESSAGE_CHARS = 500;
export const MAX_ERROR_FIELD_CHARS = 100;

export function errorFrame(code: ErrorCode, message: string, field?: string, ref?: string): ErrorMsg {
  const e: ErrorMsg = { v: 1, type: 'error', code, message: message.slice(0, MAX_ERROR_MESSAGE_CHARS) };
  if (field) e.field = field.slice(0, MAX_ERROR_FIELD_CHARS);
  if (ref) e.ref = ref.slice(0, MAX_ERROR_FIELD_CHARS);
  return e;
}
