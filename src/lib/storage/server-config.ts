// The ROBOT's server-mode settings (v1's `server_mode` block in the bridge's config), as the
// settings form edits them: validated here with one message per field before anything is sent to
// `POST /server/config`. The password is write-only: the bridge shows it as the mask, and sending
// the mask back keeps the stored one.

import { checkBaseUrl } from './settings.ts';

export const PASSWORD_MASK = '********';
const STREAM_KEY = /^[\w.-]{1,64}$/;
const MAX_PASSWORD_CHARS = 256;

export interface ServerModeBlock {
  enabled: boolean;
  server_url: string;
  stream_key: string;
  stream_password: string;
  fallback_to_local: boolean;
}

export type ServerModeErrors = Partial<Record<keyof ServerModeBlock, string>>;

/** Reads a form draft (strings and booleans); returns the block to POST or the errors. */
export function validateServerMode(draft: Partial<Record<keyof ServerModeBlock, unknown>>): { ok: true; value: ServerModeBlock } | { ok: false; errors: ServerModeErrors } {
  const errors: ServerModeErrors = {};
  const url = checkBaseUrl(draft.server_url ?? '', 'Server address', 'https://havatar.example.org');
  if ('error' in url) errors.server_url = url.error;
  else if (!url.value && draft.enabled === true) errors.server_url = 'Give the server address to turn server mode on.';
  const key = typeof draft.stream_key === 'string' ? draft.stream_key.trim() : '';
  if (!STREAM_KEY.test(key)) errors.stream_key = 'Stream key: 1-64 letters, digits, _ . or - (the robot id on the server).';
  const pw = typeof draft.stream_password === 'string' ? draft.stream_password : '';
  if (pw.length > MAX_PASSWORD_CHARS) errors.stream_password = `Password is too long (at most ${MAX_PASSWORD_CHARS} characters).`;
  else if (/\s/.test(pw)) errors.stream_password = 'Password must not contain spaces.';
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    value: {
      enabled: draft.enabled === true,
      server_url: 'value' in url ? url.value : '',
      stream_key: key,
      // Empty field = unchanged: the mask tells the bridge to keep what it has.
      stream_password: pw === '' ? PASSWORD_MASK : pw,
      fallback_to_local: draft.fallback_to_local !== false,
    },
  };
}
