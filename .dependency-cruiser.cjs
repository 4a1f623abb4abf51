// What `npm run lint` holds the imports to: no loops; the core's layers import only downwards;
// an instrumentation imports only the plugin surface of the core, and no other library's folder.

/** The core's layers, lowest first: a module may import its own layer and those below it. */
const LAYERS = [
  ['base', '^src/(version|stack|dirs|exit|net-address|config|log|wrap|unattached|launcher-env)\\.ts$'],
  ['cassette', '^src/cassette/'],
  ['observability agents', '^src/observability-agents\\.ts$'],
  ['remote', '^src/remote/'],
  ['catalog', '^src/catalog/'],
  ['calls', '^src/calls\\.ts$'],
  ['determinism', '^src/determinism/'],
  ['context', '^src/context\\.ts$'],
  ['inbound', '^src/inbound/'],
  ['record', '^src/record/'],
  ['replay', '^src/replay/'],
  ['plugin surface', '^src/(instrumentation|plugin|plugin-context)\\.ts$|^src/loader/'],
  ['cli', '^src/cli/|^src/(test|index)\\.ts$'],
  ['agent', '^src/agent(-record|-replay)?\\.ts$'],
];

const layerRules = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `no-import-up-from-${name.replace(/\s+/g, '-')}`,
  comment: `${name} imports only its own layer and those below it`,
  severity: 'error',
  from: { path },
  to: {
    path: LAYERS.slice(i + 1)
      .map(([, above]) => `(${above})`)
      .join('|'),
  },
}));

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'imports run one way', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'every-core-module-has-a-layer',
      comment: 'a new module of src/ is placed in LAYERS above',
      severity: 'error',
      from: { path: '^src/', pathNot: LAYERS.map(([, path]) => `(${path})`).join('|') },
      to: {},
    },
    ...layerRules,
    {
      name: 'instrumentations-use-the-plugin-surface',
      comment: 'an instrumentation imports nothing of src/ but src/plugin.ts',
      severity: 'error',
      from: { path: '^instrumentations/' },
      to: { path: '^src/', pathNot: '^src/plugin\\.ts$' },
    },
    {
      name: 'one-folder-per-library',
      comment: "an instrumentation's folder imports no other library's folder",
      severity: 'error',
      from: { path: '^instrumentations/([^/]+)/' },
      to: { path: '^instrumentations/', pathNot: '^instrumentations/$1/' },
    },
    {
      name: 'the-core-names-no-library',
      comment: 'src/ never imports an instrumentation (register.mjs hands them to the agent)',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^instrumentations/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
