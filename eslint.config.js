// Type-aware lint for the TypeScript sources; formatting is Prettier's job (eslint-config-prettier turns off
// every rule that would disagree with it). `npm run lint` runs this and `prettier --check`.
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier/flat';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // Only TypeScript is linted: the Mininet Python, the C helper and generated output are not ours to lint here.
  { ignores: ['dist/', 'data/', 'node_modules/', '**/*.py', '**/*.c'] },
  {
    files: ['**/*.ts', '**/*.js'],
    extends: [eslint.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js', 'vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A leading underscore marks a parameter or binding kept for its position (a callback's signature, a
      // destructured tuple), as the code does on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // fastify sends what an async handler returns, and fakes implement Promise-returning interfaces: an async
      // function without an await is the intended shape there.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The Ryu-JSON codec reads and prints plain dicts (RyuDict) whose values are JSON scalars by construction;
    // its formatters and its error messages interpolate them as they are.
    files: ['controller/openflow/actions.ts', 'controller/openflow/nx-actions.ts', 'controller/openflow/ryu-json.ts'],
    rules: {
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // Tests read HTTP replies through light-my-request's `json()`, which is typed `any`, and assert on their
    // shape with expect(): the no-unsafe-* rules would flag every such read.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  prettier,
);
