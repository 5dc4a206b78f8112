import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'kernels/**/*.test.ts',
      'functions/**/*.test.ts',
      'firmware/**/*.test.ts',
      'bench/**/*.test.ts',
      'deploy/**/*.test.ts',
      'test/**/*.test.ts',
      'web/**/*.test.ts',
    ],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
