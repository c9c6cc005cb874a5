// ESLint with typescript-eslint's type-checked rules; layout is Prettier's job (npm run format).
import eslint from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    // A run and its agents read top to bottom: short named steps, not one long closure.
    files: ['apps/controller/src/run/**/*.ts', 'apps/controller/src/agents/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }] },
  },
  {
    // TypeBox's index and errors come through @gauntlet/contracts/typebox: one bundled module instead of ~210
    // (packages/contracts/src/typebox.ts says why). Its value and compiler entries are not bundled.
    files: ['packages/*/src/**/*.ts', 'apps/*/src/**/*.ts'],
    ignores: ['packages/contracts/src/typebox.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['@sinclair/typebox', '@sinclair/typebox/errors'].map((name) => ({
            name,
            message: "Import TypeBox from '@gauntlet/contracts/typebox' ('#typebox' inside contracts).",
          })),
        },
      ],
    },
  },
  {
    // The chart module is browser scripts merged into one global namespace (packages/charts/tsconfig.json
    // explains why): namespaces are its module system, and the namespace is used by the page, not here.
    files: ['packages/charts/src/**/*.ts'],
    languageOptions: { globals: globals.browser },
    rules: {
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^GauntletCharts$' }],
    },
  },
  {
    // Plain JavaScript (bin shims, benchmarks, scripts, test servers): the rules that need no types.
    files: ['**/*.mjs', '**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { parserOptions: { projectService: false } },
  },
)
