/**
 * A strict reader of the Prometheus text exposition format (0.0.4): every line must be a `# HELP`, a `# TYPE` or a
 * sample of a metric whose TYPE came first; anything else throws. Samples are keyed `name{a="1",b="2"}` with the
 * labels sorted, so a test can look a series up whatever order the exporter wrote them in.
 */
// values as Prometheus reads them (Go's ParseFloat: NaN and Inf in any case; prom-client writes `Nan`)
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?(?:[0-9.e+-]+|[Nn][Aa][Nn]|[+-]?[Ii]nf))( -?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Map<string, string>();
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$/.exec(line);
    if (help) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/.exec(line);
    if (type) {
      if (!TYPES.has(type[2] as string)) throw new Error(`line ${i + 1}: unknown type ${type[2]}`);
      typed.set(type[1] as string, type[2] as string);
      continue;
    }
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`line ${i + 1} is not Prometheus text: ${line}`);
    const name = sample[1] as string;
    const family = [...typed.keys()].find((f) => name === f || name === `${f}_bucket` || name === `${f}_sum` || name === `${f}_count`);
    if (!family) throw new Error(`line ${i + 1}: sample ${name} has no # TYPE before it`);
    const labels = [...(sample[3] ?? '').matchAll(LABEL)].map((m) => `${m[1]}="${m[2]}"`).sort();
    const key = labels.length > 0 ? `${name}{${labels.join(',')}}` : name;
    if (samples.has(key)) throw new Error(`line ${i + 1}: series ${key} appears twice`);
    samples.set(key, Number(sample[4]));
  }
  return samples;
}
