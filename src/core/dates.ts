// Dates of the SEP-12 vocabulary: `datetime` (ISO 8601 or `YYYY-MM-DD HH:MM:SS` as UTC) and `date`.

/** ISO 8601, or `YYYY-MM-DD HH:MM:SS` read as UTC; null when the calendar date or time does not exist. */
export function parseDateTime(text: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  // built in a leap year, then moved to the real one: Date.UTC would read years 0-99 as 1900-1999
  const check = new Date(
    Date.UTC(2000, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(frac.padEnd(3, '0').slice(0, 3))),
  );
  check.setUTCFullYear(Number(y));
  if (check.getUTCFullYear() !== Number(y) || check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)) {
    return null;
  }
  const base = check.getTime();
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
    if (!z || Number(z[2]) > 23 || Number(z[3]) > 59) return null;
    offsetMinutes = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
  }
  return new Date(base - offsetMinutes * 60_000);
}

/** `YYYY-MM-DD` → midnight UTC of that day; null for days that do not exist. */
export function parseDate(text: string): Date | null {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) ? parseDateTime(text) : null;
}
