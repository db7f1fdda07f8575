import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { FieldInfo } from '../core/schema-format.js';
import { camelCase } from './names.js';

// What a GraphQL request reads of a record: the result schema's fields it selects, so the refs of the others are not
// loaded (`{ merchandises { results { displayName } } }` costs no firm query).

/** The GraphQL names selected below `nodes` (fragments and inline fragments followed; directives not evaluated). */
function selectedNames(nodes: readonly FieldNode[], info: GraphQLResolveInfo): Set<string> {
  const names = new Set<string>();
  const seenFragments = new Set<string>();
  const walk = (set: SelectionSetNode | undefined) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!seenFragments.has(selection.name.value)) {
        seenFragments.add(selection.name.value);
        walk(info.fragments[selection.name.value]?.selectionSet);
      }
    }
  };
  for (const node of nodes) walk(node.selectionSet);
  return names;
}

/**
 * The result schema's fields that the field being resolved selects (`info.fieldNodes`: every node of this field in
 * the query, aliases merged by GraphQL). A field whose @skip/@include is not evaluated here counts as selected,
 * so a ref is at worst loaded when not read, never missing when read.
 */
export function wantedFields(fields: readonly FieldInfo[], info: GraphQLResolveInfo): ReadonlySet<string> {
  const selected = selectedNames(info.fieldNodes, info);
  return new Set(fields.filter((field) => selected.has(camelCase(field.name))).map((field) => field.name));
}
