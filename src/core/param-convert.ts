import { ObjectId } from 'mongodb';
import { parseDate, parseDateTime } from './dates.js';
import type { FieldError } from './errors.js';
import { joinPath } from './param-errors.js';
import type { ParamType, ParsedParam, Params } from './sep12.js';

// Conversion to driver values (ObjectId, Date, parsed JSON), after ajv has checked the JSON shape.

type Converter = (value: unknown, path: string, errors: FieldError[]) => unknown;

export function objectConverter(params: ParsedParam[]): (value: Record<string, unknown>, path: string, errors: FieldError[]) => Params {
  const converters = params.map((param) => [param.name, converterFor(param.type)] as const);
  return (value, path, errors) => {
    const out: Params = {};
    for (const [name, convert] of converters) {
      const given = value[name];
      if (given === null) out[name] = null;
      else if (given !== undefined) out[name] = convert(given, joinPath(path, name), errors);
    }
    return out;
  };
}

function converterFor(type: ParamType): Converter {
  switch (type.kind) {
    case 'object_id':
      return (value) => ObjectId.createFromHexString((value as string).toLowerCase());
    case 'datetime':
      return (value, path, errors) => parseDateTime(value as string) ?? fieldError(errors, path, 'is not a valid date-time');
    case 'date':
      return (value, path, errors) => parseDate(value as string) ?? fieldError(errors, path, 'is not a valid date');
    case 'list': {
      const item = converterFor(type.item);
      return (value, path, errors) => (value as unknown[]).map((v, i) => item(v, `${path}[${i}]`, errors));
    }
    case 'dict': {
      const convert = objectConverter(type.fields);
      return (value, path, errors) => convert(value as Record<string, unknown>, path, errors);
    }
    case 'json_list':
    case 'json_map':
      return jsonConverter(type.kind === 'json_list');
    default:
      return (value) => value;
  }
}

/** `json<list>` / `json<map>`: a JSON text is parsed; the parsed (or given) value must be a list / an object. */
function jsonConverter(list: boolean): Converter {
  const wanted = list ? 'a JSON list' : 'a JSON object';
  return (value, path, errors) => {
    let parsed = value;
    if (typeof value === 'string') {
      try {
        parsed = JSON.parse(value);
      } catch {
        return fieldError(errors, path, `must be ${wanted}`);
      }
    }
    const isList = Array.isArray(parsed);
    const fits = list ? isList : parsed !== null && typeof parsed === 'object' && !isList;
    return fits ? parsed : fieldError(errors, path, `must be ${wanted}`);
  };
}

function fieldError(errors: FieldError[], field: string, message: string): undefined {
  errors.push({ field, messages: [message] });
  return undefined;
}
