/** Spelling rules between our snake_case declarations and the Talpa GraphQL names (seed 001). */

/** `group_info` → `groupInfo`, `_id` → `id`, `_ids` → `ids`. */
export function camelCase(snake: string): string {
  if (snake === '_id') return 'id';
  return snake.replace(/^_+/, '').replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `wallet_transaction` → `WalletTransaction`. */
export function pascalCase(snake: string): string {
  const camel = camelCase(snake);
  return camel.charAt(0).toUpperCase() + camel.slice(1);
}

/** `displayName` / `display_name` → `display_name`; `id` → `_id` (ordering strings name fields either way). */
export function snakeCase(name: string): string {
  if (name === 'id') return '_id';
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The list field of a resource: `firm` → `firms`, `merchandise` → `merchandises`, `category` → `categories`. */
export function pluralCamel(resource: string): string {
  const single = camelCase(resource);
  if (/[^aeiou]y$/.test(single)) return `${single.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(single)) return `${single}es`;
  return `${single}s`;
}

/** A filter param in Talpa spelling: `name__icontains` → `name_Icontains`, `created_at__gte` → `createdAt_Gte`. */
export function filterArgName(param: string): string {
  const at = param.indexOf('__');
  if (at <= 0) return camelCase(param);
  const op = param.slice(at + 2);
  return `${camelCase(param.slice(0, at))}_${op.charAt(0).toUpperCase()}${op.slice(1)}`;
}

/**
 * A field path of a params error in GraphQL spelling, segment by segment: `docs[2].display_name` → `docs[2].displayName`,
 * `name__icontains` → `name_Icontains`.
 */
export function graphqlFieldPath(path: string): string {
  return path
    .split('.')
    .map((segment) => {
      const match = /^([^[]*)(.*)$/.exec(segment) as RegExpExecArray;
      const head = match[1] as string;
      return (head === '' ? '' : filterArgName(head)) + match[2];
    })
    .join('.');
}
