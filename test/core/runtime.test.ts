import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  devDependencies: Record<string, string>;
};

describe('runtime', () => {
  it('runs the tests on the Node major the project brings (node@24 from node_modules/.bin)', () => {
    const wanted = Number(/\d+/.exec(pkg.devDependencies.node ?? '')?.[0]);
    expect(Number(process.versions.node.split('.')[0])).toBe(wanted);
  });
});
