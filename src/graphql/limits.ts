import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isListType,
  valueFromASTUntyped,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { DEFAULT_RESULTS_LIMIT } from './list.js';

/** What one request may ask for; over any of them it is refused before anything runs. */
export interface QueryLimits {
  /** Characters of the query text. */
  maxQueryLength: number;
  /** Lexical tokens the parser reads before giving up (a cheap guard against huge documents). */
  maxTokens: number;
  /** Nesting of fields below the operation (`firms { results { id } }` is 3). */
  maxDepth: number;
  /** Aliased fields in the whole document. */
  maxAliases: number;
  /** Σ over fields of the rows they may be resolved for (list size × nesting); see `costOf`. */
  maxCost: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxQueryLength: 20_000, maxTokens: 5_000, maxDepth: 10, maxAliases: 20, maxCost: 5_000 };

/** A list whose size no argument gives (a YAML `list`) is counted as this many items. */
const ASSUMED_LIST_SIZE = 20;

/** The validation rules for the limits; `variables` are the request's, so `results(limit: $n)` is priced by `$n`. */
export function limitRules(limits: QueryLimits, variables: Record<string, unknown> | undefined): ValidationRule[] {
  return [depthRule(limits.maxDepth), aliasRule(limits.maxAliases), costRule(limits.maxCost, variables ?? {})];
}

function depthRule(maxDepth: number): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      const depth = depthOf(operation.selectionSet, fragmentsOf(context), new Set());
      if (depth > maxDepth)
        context.reportError(
          new GraphQLError(`The query is nested ${depth} levels deep; at most ${maxDepth} are allowed`, {
            nodes: operation,
            extensions: { code: 'query_too_deep' },
          }),
        );
    },
  });
}

function depthOf(selectionSet: SelectionSetNode | undefined, fragments: Map<string, FragmentDefinitionNode>, seen: Set<string>): number {
  if (!selectionSet) return 0;
  let deepest = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) deepest = Math.max(deepest, 1 + depthOf(selection.selectionSet, fragments, seen));
    else if (selection.kind === Kind.INLINE_FRAGMENT) deepest = Math.max(deepest, depthOf(selection.selectionSet, fragments, seen));
    else if (!seen.has(selection.name.value)) {
      // a fragment cycle is reported by the standard rules; here it just stops counting
      const fragment = fragments.get(selection.name.value);
      deepest = Math.max(deepest, depthOf(fragment?.selectionSet, fragments, new Set([...seen, selection.name.value])));
    }
  }
  return deepest;
}

function aliasRule(maxAliases: number): ValidationRule {
  return (context) => {
    let aliases = 0;
    return {
      Field(node) {
        if (node.alias && ++aliases === maxAliases + 1) {
          context.reportError(
            new GraphQLError(`The query uses more than ${maxAliases} aliases`, { nodes: node, extensions: { code: 'too_many_aliases' } }),
          );
        }
      },
    };
  };
}

function costRule(maxCost: number, variables: Record<string, unknown>): ValidationRule {
  return (context): ASTVisitor => ({
    OperationDefinition(operation) {
      const cost = costOf(context, operation, variables);
      if (cost > maxCost) {
        context.reportError(
          new GraphQLError(`The query may cost ${cost} (fields × rows); at most ${maxCost} is allowed`, {
            nodes: operation,
            extensions: { code: 'query_too_costly' },
          }),
        );
      }
    },
  });
}

/**
 * Every field costs the number of times it may be resolved: 1 at the top, times the size of each list above it
 * (`results(limit)` by its limit, default 20; other lists by ASSUMED_LIST_SIZE). Fragments are priced where spread.
 */
export function costOf(context: ValidationContext, operation: OperationDefinitionNode, variables: Record<string, unknown>): number {
  const schema = context.getSchema();
  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  const fragments = fragmentsOf(context);
  const walk = (selectionSet: SelectionSetNode | undefined, parent: unknown, rows: number, seen: Set<string>): number => {
    if (!selectionSet || !parent || typeof (parent as { getFields?: unknown }).getFields !== 'function') return 0;
    const fields = (parent as { getFields(): Record<string, GraphQLField<unknown, unknown>> }).getFields();
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        total += walk(selection.selectionSet, on, rows, seen);
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || seen.has(fragment.name.value)) continue;
        total += walk(
          fragment.selectionSet,
          schema.getType(fragment.typeCondition.name.value),
          rows,
          new Set([...seen, fragment.name.value]),
        );
      } else {
        const field = fields[selection.name.value];
        total += rows;
        if (!field) continue;
        const size = isListType(getNullableType(field.type)) ? listSize(selection, variables) : 1;
        total += walk(selection.selectionSet, getNamedType(field.type), rows * size, seen);
      }
    }
    return total;
  };
  return walk(operation.selectionSet, root, 1, new Set());
}

function listSize(field: FieldNode, variables: Record<string, unknown>): number {
  const limit = field.arguments?.find((a) => a.name.value === 'limit');
  if (!limit) return field.name.value === 'results' ? DEFAULT_RESULTS_LIMIT : ASSUMED_LIST_SIZE;
  const value = valueFromASTUntyped(limit.value, variables);
  return typeof value === 'number' && value > 0 ? value : DEFAULT_RESULTS_LIMIT;
}

function fragmentsOf(context: ValidationContext): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of context.getDocument().definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}
