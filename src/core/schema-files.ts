import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, isMap, isScalar, parseDocument, type Document, type Node } from 'yaml';
import type { DeclarationProblem } from './declaration-error.js';
import { isPlainObject } from './schema-format.js';

// The `yaml` package (not js-yaml) reads the files: it keeps a source range on every node, so each mistake can be
// reported at its line and column, and it reports every syntax error of a file, not only the first.

/** A path into a YAML file: `['account_detail', 'data', 'name', 'type']`. */
export type YamlPath = readonly string[];

/** One schema as read from its file, with a way to find where any of its keys or values was written. */
export interface SchemaSource {
  name: string;
  /** The file as shown in messages (relative to the working directory). */
  file: string;
  raw: unknown;
  /** The line and column of the key (default) or value at `path` below the schema; the nearest written part if absent. */
  locate(path: YamlPath, part?: 'key' | 'value'): { line: number; column: number };
}

/** What reading a folder gave: the schemas in file order and the problems of the files themselves. */
export interface SchemaFiles {
  sources: SchemaSource[];
  problems: DeclarationProblem[];
}

/** The `*.yaml` / `*.yml` files of a folder, sorted. */
export function schemaFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Reads every YAML file of `dir`: syntax errors, non-mapping files and duplicate schema names become problems. */
export function readSchemaFiles(dir: string): SchemaFiles {
  const out: SchemaFiles = { sources: [], problems: [] };
  const firstFile = new Map<string, string>();
  for (const absolute of schemaFilesIn(dir)) {
    const read = readSchemaText(displayName(absolute), readFileSync(absolute, 'utf8'));
    out.problems.push(...read.problems);
    for (const source of read.sources) {
      const previous = firstFile.get(source.name);
      if (previous !== undefined) {
        const { line, column } = source.locate([]);
        out.problems.push({
          code: 'duplicate_schema',
          file: source.file,
          line,
          column,
          where: source.name,
          message: `already defined in ${previous}`,
        });
        continue;
      }
      firstFile.set(source.name, source.file);
      out.sources.push(source);
    }
  }
  return out;
}

/** Parses one file's text (exposed for tests and the editor tooling). */
export function readSchemaText(file: string, text: string): SchemaFiles {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, schema: 'core', uniqueKeys: true, prettyErrors: false });
  const pos = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const problems: DeclarationProblem[] = [...doc.errors].map((err) => ({
    code: 'yaml_syntax',
    file,
    ...pos(err.pos[0]),
    where: '',
    message: `not valid YAML: ${err.message.split('\n')[0]}`,
  }));
  if (problems.length > 0) return { sources: [], problems };
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return { sources: [], problems };
  if (!isPlainObject(value) || !isMap(doc.contents)) {
    return {
      sources: [],
      problems: [
        { code: 'bad_structure', file, ...pos(doc.contents?.range?.[0] ?? 0), where: '', message: 'must map schema names to schemas' },
      ],
    };
  }
  const sources = Object.entries(value).map(([name, raw]) => ({
    name,
    file,
    raw,
    locate: (below: YamlPath, part: 'key' | 'value' = 'key') => pos(offsetOf(doc, [name, ...below], part)),
  }));
  return { sources, problems };
}

/** The offset of the key or value at `path`, or of the deepest part of it that was written. */
function offsetOf(doc: Document, keys: YamlPath, part: 'key' | 'value'): number {
  let node: Node | null | undefined = doc.contents as Node | null;
  let offset = node?.range?.[0] ?? 0;
  for (const [i, key] of keys.entries()) {
    if (!isMap(node)) break;
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (!pair) break;
    const last = i === keys.length - 1;
    const keyNode = pair.key as Node;
    const valueNode = pair.value as Node | null;
    offset = last && part === 'value' && valueNode?.range ? valueNode.range[0] : (keyNode.range?.[0] ?? offset);
    node = valueNode;
  }
  return offset;
}

function displayName(absolute: string): string {
  const relative = path.relative(process.cwd(), absolute);
  return relative.startsWith('..') || path.isAbsolute(relative) ? absolute : relative;
}
