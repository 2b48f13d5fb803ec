// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'recordings/', 'test-artifacts/', 'bench/out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', {
        object: 'process', property: 'env', message: 'Only src/config.ts reads process.env.',
      }],
    },
  },
  {
    // The browser app: plain ES modules run by the page, not by Node.
    files: ['src/web/public/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries([
        'window', 'document', 'location', 'history', 'navigator', 'fetch', 'URL', 'URLSearchParams', 'Node',
        'EventSource', 'AbortController', 'sessionStorage', 'setTimeout', 'clearTimeout', 'setInterval',
        'clearInterval', 'requestAnimationFrame', 'ResizeObserver', 'getComputedStyle', 'DataView',
      ].map((name) => [name, 'readonly'])),
    },
  },
  { files: ['src/config.ts', 'test/**/*.ts', 'bench/**/*.ts'], rules: { 'no-restricted-properties': 'off' } },
);
