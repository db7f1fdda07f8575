import {
  GraphQLBoolean,
  GraphQLFloat,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLString,
  type GraphQLInputFieldConfigMap,
  type GraphQLInputType,
} from 'graphql';
import { DeclarationError } from '../core/dispatch.js';
import type { ParamType, ParsedParam } from '../core/params.js';
import { camelCase } from './names.js';
import { DateScalar, DateTimeScalar, JsonScalar, SafeIntScalar } from './scalars.js';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** GraphQL input fields (or arguments) for declared params, and how to turn their values back into a params body. */
export interface InputFields {
  fields: GraphQLInputFieldConfigMap;
  /** GraphQL values (GraphQL names) → the action's params body (declared names), ready for its validator. */
  toParams(values: Record<string, unknown> | null | undefined): Record<string, unknown>;
}

/**
 * Builds input fields from params in the SEP-12 vocabulary; `nameOf` spells a param's GraphQL name. Only the
 * coarse type is expressed in GraphQL (`String`, `Int`, `ID`…, `!` for M); lengths, ranges, enums and id formats
 * stay with the action's own ajv validation, so both protocols report them the same way.
 */
export function inputFields(
  params: readonly ParsedParam[],
  nameOf: (param: string) => string,
  typeName: string,
  claimName: (name: string, where: string) => void,
): InputFields {
  const fields: GraphQLInputFieldConfigMap = {};
  const converters: Array<{ from: string; to: string; nullable: boolean; convert: (v: unknown) => unknown }> = [];
  for (const param of params) {
    const name = nameOf(param.name);
    if (name in fields) throw new DeclarationError(`graphql ${typeName}`, `params ${param.name} and another are both "${name}"`);
    const { type, convert } = inputType(param.type, `${typeName}${name.charAt(0).toUpperCase()}${name.slice(1)}`, claimName);
    const note = [param.note, param.nullable ? 'null removes it' : undefined].filter(Boolean).join('; ');
    fields[name] = { type: param.presence === 'M' ? new GraphQLNonNull(type) : type, ...(note ? { description: note } : {}) };
    converters.push({ from: name, to: param.name, nullable: param.nullable === true, convert });
  }
  return {
    fields,
    toParams(values) {
      const body: Record<string, unknown> = {};
      if (!values) return body;
      for (const { from, to, nullable, convert } of converters) {
        const value = values[from];
        if (value === undefined) continue;
        // GraphQL's null on an optional input means "not given", unless the param gives null a meaning (update)
        if (value === null) {
          if (nullable) body[to] = null;
          continue;
        }
        body[to] = convert(value);
      }
      return body;
    },
  };
}

function inputType(
  type: ParamType,
  nestedName: string,
  claimName: (name: string, where: string) => void,
): { type: GraphQLInputType; convert: (v: unknown) => unknown } {
  const same = (v: unknown) => v;
  switch (type.kind) {
    case 'string':
    case 'time':
    case 'enum_str':
      return { type: GraphQLString, convert: same };
    case 'int':
      return { type: fitsInt32(type.min, type.max) ? GraphQLInt : SafeIntScalar, convert: same };
    case 'enum_int':
      return { type: fitsInt32(Math.min(...type.values), Math.max(...type.values)) ? GraphQLInt : SafeIntScalar, convert: same };
    case 'float':
      return { type: GraphQLFloat, convert: same };
    case 'bool':
      return { type: GraphQLBoolean, convert: same };
    case 'datetime':
      return { type: DateTimeScalar, convert: same };
    case 'date':
      return { type: DateScalar, convert: same };
    case 'object_id':
      return { type: GraphQLID, convert: same };
    case 'list': {
      const item = inputType(type.item, nestedName, claimName);
      return {
        type: new GraphQLList(new GraphQLNonNull(item.type)),
        convert: (v) => (Array.isArray(v) ? v.map(item.convert) : v),
      };
    }
    case 'json_list':
    case 'json_map':
      return { type: JsonScalar, convert: same };
    case 'dict': {
      const typeName = `${nestedName}Input`;
      claimName(typeName, `params ${nestedName}`);
      const nested = inputFields(type.fields, camelCase, typeName, claimName);
      return {
        type: new GraphQLInputObjectType({ name: typeName, fields: nested.fields }),
        convert: (v) => nested.toParams(v as Record<string, unknown>),
      };
    }
  }
}

function fitsInt32(min: number | undefined, max: number | undefined): boolean {
  return min !== undefined && max !== undefined && min >= INT32_MIN && max <= INT32_MAX;
}
