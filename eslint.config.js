import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Layers (ARCHITECTURE.md, Layout): imports point down only. Each entry is one folder's rule,
// as regular expressions over the import specifier (relative specifiers leave src/ with ../).
const UP_TO = (...folders) => `^(\\.\\./)+(${folders.join('|')})(/|$)`;
const layer = (folders, patterns) => ({
  files: folders.map((f) => `src/${f}/**/*.ts`),
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});
const NO_API_OR_CONTROL = {
  regex: UP_TO('api', 'control'),
  message: 'The data plane (runtime, balance, health, proxy, l4, metrics, observe) never imports api/ or control/: move what both need to model/.',
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  layer(['health', 'proxy', 'l4', 'metrics', 'observe'], [NO_API_OR_CONTROL]),
  layer(['runtime'], [NO_API_OR_CONTROL, {
    regex: '^undici(/|$)',
    message: 'runtime/ dispatches nothing: connection pools are the data plane\'s (proxy/lean/member-pool.ts), handed in as a PoolSource.',
  }]),
  layer(['balance'], [{
    regex: '^(?!\\./|\\.\\./model/)',
    message: 'balance/ imports only model/ (it is shared by L7 and L4 and knows neither).',
  }]),
  layer(['net'], [{
    regex: '^\\.\\./',
    message: 'net/ (socket helpers both planes share) imports nothing else of sluice.',
  }]),
  layer(['api'], [{
    regex: UP_TO('runtime', 'proxy', 'l4'),
    message: 'api/ never imports the data plane (runtime, proxy, l4): it reads health through model/health.ts HealthReporter.',
  }]),
);
