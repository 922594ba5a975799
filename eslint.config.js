// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // src/process is the one place allowed to spawn; everything else goes through it.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:child_process', message: 'Spawn through src/process (argument arrays, timeouts, typed errors).' },
            { name: 'child_process', message: 'Spawn through src/process (argument arrays, timeouts, typed errors).' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/process/**', 'test/fixtures/**', 'test/process/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
  {
    // The dashboard: plain browser scripts served as they are (no build step).
    files: ['dashboard/**/*.js'],
    languageOptions: { sourceType: 'module', globals: globals.browser },
  },
);
