import type { ParamType, ParsedParam } from '../core/params.js';

/**
 * Turns the text cells of a CSV or xlsx row into the JSON the resource declares (int → number, bool → true/false,
 * list → JSON list or comma-separated items, dates as their text), so the server checks what the file meant.
 * A cell that does not convert is sent as it is: the server's validation names it. Empty cells are left out.
 */
export function typeRow(values: Record<string, unknown>, fields: ReadonlyMap<string, ParsedParam>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(values)) {
    const field = fields.get(name);
    if (raw === '' || raw === null || raw === undefined) continue;
    out[name] = field ? typeValue(raw, field.type) : raw;
  }
  return out;
}

function typeValue(raw: unknown, type: ParamType): unknown {
  if (raw instanceof Date) {
    if (type.kind === 'date') return raw.toISOString().slice(0, 10);
    if (type.kind === 'time') return raw.toISOString().slice(11, 19);
    return raw.toISOString();
  }
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (type.kind) {
    case 'int':
    case 'enum_int':
    case 'float':
      return typeof text === 'string' && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text) ? Number(text) : text;
    case 'bool':
      if (typeof text !== 'string') return text;
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no)$/i.test(text)) return false;
      return text;
    case 'list': {
      if (typeof text !== 'string') return text;
      if (text.startsWith('[')) return parseJsonOr(text);
      return text.split(',').map((item) => typeValue(item.trim(), type.item));
    }
    case 'dict':
    case 'json_map':
    case 'json_list':
      return typeof text === 'string' && type.kind === 'dict' ? parseJsonOr(text) : text;
    default:
      return typeof text === 'number' ? String(text) : text;
  }
}

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
