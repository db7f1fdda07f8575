import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // one database server for the whole run; every test file opens its own database on it
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 180_000,
    reporters: ['default'],
    // graphql-http's ESM build imports graphql the way Node does (CJS) while our code gets graphql's .mjs through
    // vite: two copies of graphql, whose classes don't match. Processing graphql-http through vite too keeps one.
    server: { deps: { inline: ['graphql-http'] } },
  },
});
