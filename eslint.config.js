// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const NO_SPAWN = {
  paths: [
    { name: 'node:child_process', message: 'Spawn through src/process (argument arrays, timeouts, typed errors).' },
    { name: 'child_process', message: 'Spawn through src/process (argument arrays, timeouts, typed errors).' },
  ],
};

/**
 * The layer order of docs/DESIGN.md ("Layers"), bottom first. A module may import its own layer and
 * the ones below it, never one above: so the orchestrator cannot reach back into the facade, nor a
 * dev server into the orchestrator. Members are folders (`x/`) or files at the top of src/. The top
 * layer (entry points) is not restricted among itself.
 */
const LAYERS = [
  ['errors.ts', 'events.ts', 'config.ts', 'dispose-symbol.ts'],
  ['process/'],
  ['runtime/'],
  ['state/'],
  ['egress/'],
  ['devcontainer/'],
  ['workspace/'],
  ['devserver/'],
  ['orchestrator/'],
  ['berth.ts', 'api.ts'],
  ['index.ts', 'open-berth.ts', 'daemon/', 'client/', 'cli/', 'doctor/', 'mcp/'],
];

/**
 * Upward imports not fixed yet, each by its exact specifier, with the work that removes it. Every
 * other upward import fails lint.
 */
const NOT_YET = {
};

/**
 * Vocabulary files with no imports of their own, which every layer may name: the runtime kinds are
 * the runtime's to define, but config.json and the CLI's help at the bottom spell them too.
 */
const LEAVES = ['runtime/kinds.js'];

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** How a member is named in an import specifier: a folder by its prefix, a file by its .js name. */
const specifierOf = (member) => (member.endsWith('/') ? escape(member) : `${escape(member.replace(/\.ts$/, '.js'))}$`);

/** One lint block per layer and folder depth, so each relative specifier is matched exactly. */
function layerBlocks() {
  const blocks = [];
  LAYERS.forEach((members, level) => {
    const above = LAYERS.slice(level + 1).flat();
    if (above.length === 0) return;
    const message = `Upward import: docs/DESIGN.md's layers put ${members.join(', ')} below ${above.join(', ')}.`;
    const rules = (prefix, notYet = []) => {
      const allowed = [...notYet, ...LEAVES.map((leaf) => `${prefix}${leaf}`)];
      const regex = `^(?!(${allowed.map(escape).join('|')})$)${escape(prefix)}(${above.map(specifierOf).join('|')})`;
      return {
        'no-restricted-imports': ['error', { ...(members.includes('process/') ? {} : NO_SPAWN), patterns: [{ regex, message }] }],
        // import() too; esquery's regex literal cannot hold a '/', so it is spelled \x2F.
        'no-restricted-syntax': ['error', { selector: `ImportExpression[source.value=/${regex.replaceAll('/', '\\x2F')}/]`, message }],
      };
    };
    const files = members.filter((m) => !m.endsWith('/'));
    if (files.length > 0) blocks.push({ files: files.map((f) => `src/${f}`), rules: rules('./') });
    for (const folder of members.filter((m) => m.endsWith('/'))) {
      for (let depth = 1; depth <= 3; depth++) {
        blocks.push({ files: [`src/${folder}${'*/'.repeat(depth - 1)}*.ts`], rules: rules('../'.repeat(depth), NOT_YET[folder]) });
      }
    }
  });
  return blocks;
}

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
      'no-restricted-imports': ['error', NO_SPAWN],
    },
  },
  // The layers (these blocks repeat NO_SPAWN: a later block's options replace an earlier one's).
  ...layerBlocks(),
  {
    files: ['test/fixtures/**', 'test/process/**'],
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
