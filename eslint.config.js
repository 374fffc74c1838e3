// One lint configuration for the whole workspace; each package runs `eslint src`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read the environment only in an app\'s config.ts.' },
      ],
    },
  },
  {
    files: ['**/config.ts', '**/main.ts', '**/*.test.ts', '**/bench/**', '**/scripts/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
