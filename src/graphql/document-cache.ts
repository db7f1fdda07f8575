import { parse, specifiedRules, validate, type DocumentNode, type GraphQLError, type GraphQLSchema, type ValidationRule } from 'graphql';

/**
 * Parsed and spec-validated documents by query text, so a client repeating its queries (the usual case) pays for
 * parsing and the ~30 standard validation rules once; the rules that depend on the request (limits priced with its
 * variables, introspection) run every time. Bounded: the oldest entry goes when it is full.
 */
export class DocumentCache {
  private readonly documents = new Map<string, DocumentNode>();
  private readonly specErrors = new WeakMap<DocumentNode, { schema: GraphQLSchema; errors: readonly GraphQLError[] }>();

  constructor(
    private readonly size: number,
    private readonly maxTokens: number,
  ) {}

  /** The document of `source` (a syntax error throws, and is not kept). */
  parse(source: string): DocumentNode {
    const known = this.documents.get(source);
    if (known) return known;
    const document = parse(source, { maxTokens: this.maxTokens });
    if (this.documents.size >= this.size) this.documents.delete(this.documents.keys().next().value as string);
    this.documents.set(source, document);
    return document;
  }

  /** The standard rules' errors (kept per document and schema), else those of the request's own `rules`. */
  validate(schema: GraphQLSchema, document: DocumentNode, rules: readonly ValidationRule[]): readonly GraphQLError[] {
    let spec = this.specErrors.get(document);
    if (!spec || spec.schema !== schema) {
      spec = { schema, errors: validate(schema, document, specifiedRules) };
      this.specErrors.set(document, spec);
    }
    if (spec.errors.length > 0) return spec.errors;
    return rules.length > 0 ? validate(schema, document, rules) : [];
  }
}
