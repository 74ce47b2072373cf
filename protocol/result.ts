/** A validator's answer: the typed value, or the first problem found, naming the field. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: string; field?: string };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (error: string, field?: string): { ok: false; error: string; field?: string } =>
  field === undefined ? { ok: false, error } : { ok: false, error, field };
