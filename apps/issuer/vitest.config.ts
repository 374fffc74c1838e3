import { defineConfig } from 'vitest/config';

// testcontainers on a machine without an image registry: no Ryuk (its image cannot be pulled;
// the global setup stops what it started), and the mapped ports on localhost.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';

export default defineConfig({
  test: {
    // PostgreSQL for the scale-out tests (src/scale-out.test.ts), started once
    globalSetup: ['./src/test-postgres-setup.ts'],
    hookTimeout: 180_000,
  },
});
