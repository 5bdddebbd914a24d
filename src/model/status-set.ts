import { ModelError } from './errors.js';

/**
 * HTTP status sets in the `200,201,210-299` form shared by Tencent's HealthyHttpStatus and
 * Huawei's http_code. Parsed once per config into a 600-slot bitmap so a lookup is O(1).
 */
export function parseStatusSet(text: string, field: string): Uint8Array {
  const set = new Uint8Array(600);
  if (text.trim() === '') return set;
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(part);
    if (!m) throw new ModelError('bad_format', field, `${field}: "${part}" is not a status code or range (use e.g. 200,201,210-299)`, { value: part.slice(0, 64), reason: 'is not a status code or range (use e.g. 200,201,210-299)' });
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 100 || hi > 599 || lo > hi) {
      throw new ModelError('out_of_range', field, `${field}: "${part}" must lie within 100-599 with low <= high`, { value: part.slice(0, 64), reason: 'must lie within 100-599 with low <= high' });
    }
    for (let s = lo; s <= hi; s++) set[s] = 1;
  }
  return set;
}
