import { GraphQLScalarType, GraphQLError, Kind, valueFromASTUntyped, type ValueNode } from 'graphql';

/**
 * Integers up to ±2^53: GraphQL's `Int` stops at 2^31, too small for money in minor units or 64-bit counters.
 * Leaves the value as a JSON number; the action's params validation does the range check.
 */
export const SafeIntScalar = new GraphQLScalarType({
  name: 'SafeInt',
  description: 'An integer between -(2^53-1) and 2^53-1, as a JSON number.',
  serialize: (value) => safeInt(value, 'SafeInt cannot represent'),
  parseValue: (value) => safeInt(value, 'SafeInt cannot represent'),
  parseLiteral: (node: ValueNode) => {
    if (node.kind !== Kind.INT)
      throw new GraphQLError(`SafeInt cannot represent a non-integer value: ${literalText(node)}`, { nodes: node });
    return safeInt(Number(node.value), 'SafeInt cannot represent');
  },
});

/** A point in time as ISO 8601 (answers are UTC `2024-05-01T08:00:00.000Z`; inputs as the params accept them). */
export const DateTimeScalar = textScalar('DateTime', 'A date-time in ISO 8601, e.g. 2024-05-01T08:00:00.000Z (UTC in answers).');

/** A calendar date `YYYY-MM-DD`. */
export const DateScalar = textScalar('Date', 'A calendar date YYYY-MM-DD.');

function textScalar(name: string, description: string): GraphQLScalarType {
  const check = (value: unknown): string => {
    if (typeof value !== 'string') throw new GraphQLError(`${name} must be a string`);
    return value;
  };
  return new GraphQLScalarType({
    name,
    description,
    serialize: check,
    parseValue: check,
    parseLiteral: (node) => {
      if (node.kind !== Kind.STRING) throw new GraphQLError(`${name} must be a string, got ${literalText(node)}`, { nodes: node });
      return node.value;
    },
  });
}

function safeInt(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  throw new GraphQLError(`${what} ${JSON.stringify(value)}`);
}

function literalText(node: ValueNode): string {
  return 'value' in node ? String(node.value) : node.kind;
}

/** A JSON list or object (SEP-12 `json<list>` / `json<map>` params): passed to the action, whose validation checks it. */
export const JsonScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'A JSON value (a list or an object), as the param declares.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (node, variables) => valueFromASTUntyped(node, variables),
});
