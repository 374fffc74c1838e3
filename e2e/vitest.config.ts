import { defineConfig } from 'vitest/config';

// One world of containers at a time: the machine has two cores and the flows share images.
export default defineConfig({
  test: {
    globalSetup: ['./src/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
