import { defineConfig } from 'vitest/config';

// Two groups: unit and conformance tests run in parallel; tests against real Open vSwitch, Linux namespaces and
// Mininet run one file at a time afterwards (userspace-datapath OVS instances cannot coexist on one host: they
// share the ovs-netdev tap device), so they never wait on each other's locks.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/conformance/**/*.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'system',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
