import type { ActionTable, CompiledAction, ResourceDefinition } from './dispatch.js';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { isKeyed } from './idempotency-key.js';
import type { ParamType, ParsedParam } from './params.js';
import type { FieldInfo, ResultSchema } from './result-schemas.js';

/**
 * What both reference documents (SEP-12 Markdown and OpenAPI) derive from the declarations the same way:
 * the Chinese title of an action, the error codes it can answer, and which result fields can be null.
 */

/** Default Chinese names of the standard actions (seed 004); any other action declares `titleZh`. */
export const STANDARD_TITLES: Record<string, string> = {
  get: '详情',
  find: '列表',
  find_detail: '详细列表',
  find_one: '查找',
  select: '选项',
  create: '新建',
  update: '修改',
  mark_delete: '删除',
  mark_disable: '停用',
  mark_enable: '启用',
  mark_restore: '恢复',
  mark_cancel: '取消',
  batch_create: '批量新建',
  batch_update: '批量修改',
  batch_delete: '批量删除',
  export: '导出',
};

/**
 * Codes only some actions answer: an action lists them in `errors` (standard names have defaults below).
 * Every other code of the error table can come from any action (transport, auth, limits, the database), so a code
 * added to the table is documented on every action unless it is added here.
 */
const ACTION_SPECIFIC = new Set<string>([
  'not_found',
  'conflict',
  'insufficient_funds',
  'idempotency_conflict',
  'idempotency_in_progress',
  'too_many_results',
]);
/** What every action that honours Idempotency-Key can answer (idempotency-key.ts). */
const KEYED_CODES = new Set<string>(['idempotency_conflict', 'idempotency_in_progress']);
/** Codes about paths that are not an action at all: no operation answers them. */
const NOT_AN_OPERATION = new Set<string>(['unknown_action', 'method_not_allowed']);

const STANDARD_ERRORS: Array<[RegExp, ErrorCode[]]> = [
  [/^(get|find_one)$/, ['not_found']],
  [/^(create|batch_create|batch_delete)$/, ['conflict']],
  [/^(update|batch_update|mark_[a-z0-9_]+|delete)$/, ['not_found', 'conflict']],
  [/^(find|find_detail|export)$/, []],
  [/^select$/, ['too_many_results']],
];
/** An action of its own that does not list its `errors`: documented with both, rather than with too few. */
const CUSTOM_ERRORS: ErrorCode[] = ['not_found', 'conflict'];

/** The short Chinese name of a resource: declared, or the Chinese words its summary starts with (`账号 (accounts)`). */
export function resourceNameZh(resource: Pick<ResourceDefinition, 'summary' | 'titleZh'>): string {
  return resource.titleZh ?? /^[\u3400-\u9fff]+/.exec(resource.summary ?? '')?.[0] ?? '';
}

/** The SEP-12 `<中文名>` of an action: declared, or the resource's name and the standard verb; undefined when neither. */
export function actionTitleZh(action: CompiledAction, resource: Pick<ResourceDefinition, 'summary' | 'titleZh'>): string | undefined {
  if (action.definition.titleZh) return action.definition.titleZh;
  const verb = STANDARD_TITLES[action.name];
  return verb === undefined ? undefined : `${resourceNameZh(resource)}${verb}`;
}

/** SEP-12 title: `<path> <中文名>` (the action name stands in when no Chinese name is declared). */
export function actionTitle(action: CompiledAction, resource: Pick<ResourceDefinition, 'summary' | 'titleZh'>): string {
  return `/${action.resource}/${action.name} ${actionTitleZh(action, resource) ?? action.name}`;
}

/** Every error code an action can answer, in the order of the error table. */
export function actionErrorCodes(action: CompiledAction): ErrorCode[] {
  const own = new Set<string>(
    action.definition.errors ?? STANDARD_ERRORS.find(([pattern]) => pattern.test(action.name))?.[1] ?? CUSTOM_ERRORS,
  );
  return (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => {
    if (NOT_AN_OPERATION.has(code)) return false;
    // a public action needs no key; it answers 401/403 only when it says so (a login refusing a wrong password)
    if (action.public && (code === 'unauthorized' || code === 'forbidden') && !action.definition.errors?.includes(code)) return false;
    if (KEYED_CODES.has(code) && isKeyed(action)) return true;
    return ACTION_SPECIFIC.has(code) ? own.has(code) : true;
  });
}

/** The error codes of an action grouped by HTTP status, ascending. */
export function errorsByStatus(codes: readonly ErrorCode[]): Array<[number, ErrorCode[]]> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return [...byStatus].sort(([a], [b]) => a - b);
}

/** The standard actions that check `references` (DESIGN.md §6): they refuse an id of no live record with 400. */
const CHECKS_REFERENCES = new Set(['create', 'update', 'batch_create', 'batch_update']);

/**
 * What an action refuses with 400 `invalid_params` although its params schema allows it: declared checks, the
 * references of the standard writes, and days past the end of their month. Both documents list them.
 */
export function paramChecks(action: CompiledAction, resource: ResourceDefinition): string[] {
  const references = CHECKS_REFERENCES.has(action.name) ? resource.model.references : [];
  const checks: string[] = [];
  const walk = (params: ParsedParam[], prefix: string) => {
    for (const param of params) {
      const path = prefix + param.name;
      if (param.checks) checks.push(`${path}: ${param.checks}`);
      const reference = references.find((ref) => ref.field === param.name);
      if (reference) checks.push(`${path}: the id of a live ${reference.resource}`);
      const type = itemType(param.type);
      if (type.kind === 'datetime' || type.kind === 'date') checks.push(`${path}: a day that exists (not 2024-02-30)`);
      if (type.kind === 'dict') walk(type.fields, `${path}${param.type.kind === 'list' ? '[]' : ''}.`);
    }
  };
  walk(action.validator.params, '');
  return [...checks, ...(action.definition.paramChecks ?? [])];
}

function itemType(type: ParamType): ParamType {
  return type.kind === 'list' ? itemType(type.item) : type;
}

/** Decides which result fields can be `null`, from the resources behind the schemas. */
export class Nullability {
  private readonly present = new Map<string, ReadonlySet<string>>();

  constructor(table: ActionTable) {
    for (const resource of table.resources) {
      if (resource.presentFields) this.present.set(resource.name, new Set(resource.presentFields));
    }
  }

  /**
   * The shaper answers `null` for a declared field the record lacks, and for a dangling ref. A schema of a model
   * reads stored records: a field can be null unless every record carries it. A schema without a model shapes what a
   * handler returns (counts, ids), which sets every field — unless it shapes a part of a stored record (`stored`:
   * the items of a list, a nested object), whose fields are not declared anywhere.
   */
  canBeNull(schema: Pick<ResultSchema, 'modelName'>, field: FieldInfo, stored = false): boolean {
    if (field.type === 'object_ref') return true;
    if (field.name === '_id') return false;
    if (schema.modelName === undefined) return stored;
    const present = this.present.get(schema.modelName);
    return present === undefined || !present.has(field.name);
  }
}
