import type { Document } from 'mongodb';
import { DeclarationProblems } from './declaration-error.js';
import { parseType, type ParamType, type ParamsDeclaration } from './params.js';

/** The filter operators of DESIGN.md §6 (seed 001's `<field>_<operator>`), written as `field__op`. */
export const FILTER_OPERATORS = ['eq', 'in', 'ne', 'gt', 'gte', 'lt', 'lte', 'icontains', 'istartswith', 'iendswith', 'isnull'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

/** Which operators each filterable field accepts: `{name: ['eq', 'icontains'], state: ['eq', 'in']}`. */
export type FilterDeclaration = Record<string, readonly FilterOperator[]>;

const TEXT_OPERATORS = new Set<FilterOperator>(['icontains', 'istartswith', 'iendswith']);
const RANGE_OPERATORS = new Set<FilterOperator>(['gt', 'gte', 'lt', 'lte']);
const ORDERED_KINDS = new Set<ParamType['kind']>([
  'string',
  'int',
  'float',
  'datetime',
  'date',
  'time',
  'object_id',
  'enum_int',
  'enum_str',
]);
const MAX_IN_VALUES = 1000;
const MAX_TEXT_FILTER = 200;

interface CompiledFilter {
  param: string;
  field: string;
  op: FilterOperator;
}

/** A compiled filter declaration: its params and how to turn converted params into a query. */
export interface Filters {
  params: ParamsDeclaration;
  toQuery(params: Record<string, unknown>): Document;
}

/**
 * Compiles the declared filters against the fields' SEP-12 types (`fieldTypes[field]`, without presence).
 * Text operators need a string field; range operators an ordered one. List fields filter by their items.
 */
export function compileFilters(declaration: FilterDeclaration, fieldTypes: Readonly<Record<string, string>>): Filters {
  const params: ParamsDeclaration = {};
  const compiled: CompiledFilter[] = [];
  // every mistake of the declaration at once: the start reports them all (DeclarationError)
  const problems = new DeclarationProblems();
  const bad = (message: string) => problems.add({ code: 'bad_filter', where: '', message });
  for (const [field, ops] of Object.entries(declaration)) {
    const typeText = fieldTypes[field];
    if (typeText === undefined) {
      bad(`filter ${field}: not a declared field`);
      continue;
    }
    const type = parseType(typeText, field);
    const itemType = type.kind === 'list' ? type.item : type;
    const itemText = type.kind === 'list' ? itemTypeText(typeText) : typeText;
    for (const op of ops) {
      if (!FILTER_OPERATORS.includes(op)) bad(`filter ${field}: unknown operator "${op}" (operators: ${FILTER_OPERATORS.join(', ')})`);
      else if (TEXT_OPERATORS.has(op) && itemType.kind !== 'string') bad(`filter ${field}: ${op} needs a string field`);
      else if (RANGE_OPERATORS.has(op) && !ORDERED_KINDS.has(itemType.kind)) bad(`filter ${field}: ${op} needs an ordered field`);
      else {
        const param = op === 'eq' ? field : `${field}__${op}`;
        params[param] = { type: `O ${paramTypeFor(op, itemText)}`, note: describeOperator(field, op) };
        compiled.push({ param, field, op });
      }
    }
  }
  problems.throwIfAny();
  return {
    params,
    toQuery(values) {
      const query: Record<string, unknown> = {};
      const more: Document[] = [];
      for (const { param, field, op } of compiled) {
        const value = values[param];
        if (value === undefined) continue;
        query[field] ??= {};
        const conditions = query[field] as Record<string, unknown>;
        const next = condition(op, value);
        // two text operators on one field would overwrite each other's $regex: the second goes into $and
        if ('$regex' in next && '$regex' in conditions) more.push({ [field]: next });
        else Object.assign(conditions, next);
      }
      if (more.length > 0) query.$and = more;
      return query;
    },
  };
}

function paramTypeFor(op: FilterOperator, itemText: string): string {
  if (op === 'in') return `list<${itemText}>(1,${MAX_IN_VALUES})`;
  if (op === 'isnull') return 'bool';
  if (TEXT_OPERATORS.has(op)) return `string(1,${MAX_TEXT_FILTER})`;
  return itemText;
}

function itemTypeText(listText: string): string {
  const match = /^\s*list<(.+)>(\(.*\))?\s*$/.exec(listText);
  return (match?.[1] ?? listText).trim();
}

function condition(op: FilterOperator, value: unknown): Record<string, unknown> {
  switch (op) {
    case 'eq':
      return { $eq: value };
    case 'in':
      return { $in: value };
    case 'ne':
      return { $ne: value };
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return { [`$${op}`]: value };
    case 'icontains':
      return { $regex: escapeRegex(value as string), $options: 'i' };
    case 'istartswith':
      return { $regex: `^${escapeRegex(value as string)}`, $options: 'i' };
    case 'iendswith':
      return { $regex: `${escapeRegex(value as string)}$`, $options: 'i' };
    case 'isnull':
      return value ? { $eq: null } : { $ne: null };
  }
}

/**
 * Makes user text match itself literally inside a regular expression. A NUL byte becomes the escape `\x00`:
 * MongoDB refuses a regex that contains the byte itself.
 */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&').replaceAll('\0', '\\x00');
}

function describeOperator(field: string, op: FilterOperator): string {
  const words: Record<FilterOperator, string> = {
    eq: 'equals',
    in: 'is one of',
    ne: 'is not',
    gt: 'greater than',
    gte: 'greater than or equal to',
    lt: 'less than',
    lte: 'less than or equal to',
    icontains: 'contains (case-insensitive)',
    istartswith: 'starts with (case-insensitive)',
    iendswith: 'ends with (case-insensitive)',
    isnull: 'is missing (true) or present (false)',
  };
  return `${field} ${words[op]}`;
}
