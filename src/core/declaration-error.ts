/**
 * Mistakes in what a project declares (resources, actions, params, filters, indexes, YAML result schemas). They are
 * collected, not thrown one by one: a start or a `schemas check` reports every mistake of the run at once, one line
 * each, naming `resource/action` or `file:line:column: schema.field`.
 */

/** Stable codes of declaration mistakes, so tests and tools match codes rather than prose. */
export const DECLARATION_CODES = {
  yaml_syntax: 'the YAML does not parse',
  bad_structure: 'a key holds the wrong kind of value (a list where a mapping belongs, a bad name)',
  unknown_key: 'a key the format does not have',
  unknown_type: 'a field type the format does not have',
  unknown_meta: 'a meta the format does not have',
  unknown_schema: 'a reference to a schema no file defines',
  duplicate_schema: 'a schema name defined twice',
  ref_cycle: 'schemas that embed or reference each other without end',
  unknown_model: 'a model_name no resource serves',
  undeclared_field: 'a field the model does not declare',
  bad_ref_source: 'an object_ref whose `from:` is missing or not an id field',
  ref_model_mismatch: 'an object_ref to a schema of a model the id does not point at',
  type_mismatch: 'a YAML type that contradicts the declared field type',
  bad_resource: 'a malformed resource declaration',
  bad_action: 'a malformed action declaration',
  bad_param: 'a param or field whose SEP-12 declaration does not parse',
  bad_filter: 'a filter on an undeclared field, or an operator the field cannot take',
  bad_sort: 'a sortable field that is not declared',
  bad_index: 'an index on an undeclared field, or a unique index of an owned resource that does not start with the owner field',
} as const;

export type DeclarationCode = keyof typeof DECLARATION_CODES;

/** One mistake: where (resource/action, or schema.field), what, and the file position when it comes from YAML. */
export interface DeclarationProblem {
  code: DeclarationCode;
  where: string;
  message: string;
  file?: string;
  /** 1-based, from the YAML parser. */
  line?: number;
  column?: number;
}

/** `file:line:column: where: message`, or `where: message` for declarations in code. */
export function formatProblem(problem: DeclarationProblem): string {
  const at = problem.file ? `${problem.file}${problem.line ? `:${problem.line}:${problem.column ?? 1}` : ''}: ` : '';
  return `${at}${problem.where ? `${problem.where}: ` : ''}${problem.message}`;
}

/** Every declaration mistake of a run; the service refuses to start (exit code 2) and prints each as one line. */
export class DeclarationError extends Error {
  /** The exit code of a process that stops on it. */
  static readonly EXIT_CODE = 2;
  readonly problems: readonly DeclarationProblem[];

  constructor(problems: readonly DeclarationProblem[]);
  constructor(where: string, message: string, code?: DeclarationCode);
  constructor(whereOrProblems: string | readonly DeclarationProblem[], message = '', code: DeclarationCode = 'bad_action') {
    const problems = typeof whereOrProblems === 'string' ? [{ code, where: whereOrProblems, message }] : whereOrProblems;
    super(problems.map(formatProblem).join('\n'));
    this.name = 'DeclarationError';
    this.problems = problems;
  }

  /** The problems as the lines a person reads. */
  get lines(): string[] {
    return this.problems.map(formatProblem);
  }
}

/** Collects problems while declarations are checked; `throwIfAny` ends the check. */
export class DeclarationProblems {
  readonly list: DeclarationProblem[] = [];

  add(problem: DeclarationProblem): void {
    this.list.push(problem);
  }

  /** Adds what `error` holds: the problems of a DeclarationError, or one problem at `where` for any other error. */
  addError(error: unknown, where: string, code: DeclarationCode): void {
    if (error instanceof DeclarationError) {
      for (const p of error.problems) this.list.push({ ...p, where: [where, p.where].filter(Boolean).join(': ') });
    } else {
      this.list.push({ code, where, message: error instanceof Error ? error.message : String(error) });
    }
  }

  get size(): number {
    return this.list.length;
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new DeclarationError([...this.list]);
  }
}
