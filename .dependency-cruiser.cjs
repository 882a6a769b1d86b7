// Import rules for the layers in docs/architecture.md (issue 22, point 5), checked by `npm run check:boundaries`
// and by .ci/run. Dependencies point one way, down:
//   config <- gateway/core <- gateway/storage <- domains <- gateway/http, broker, node-red <- gateway/compose.ts, gateway/cli
// with drivers/ and cloud-sync/ beside the domains, reached only through the composition root.
// Type-only imports count like any other: a type tangles two folders just as much (tsPreCompilationDeps below).

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  // Every rule is an error: a boundary that only warns is not a boundary.
  forbidden: [
    {
      name: 'config-imports-nothing',
      comment: 'config/ is the ground: the zod schema and defaults import no other file of the project.',
      from: { path: '^config/' },
      to: { pathNot: ['^config/', '(^|/)node_modules/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'core-imports-only-config',
      comment: 'gateway/core/ is the floor every other part stands on: it may import config/ and nothing else of the project.',
      from: { path: '^gateway/core/' },
      to: { pathNot: ['^gateway/core/', '^config/', '(^|/)node_modules/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'only-compose-wires-drivers',
      comment:
        'Domains, layers and the CLI see devices only through ports (gateway/core, gateway/<domain>/port.ts); ' +
        'gateway/compose.ts is the one gateway file that imports drivers/ (the CLI asks it for a driver); ' +
        'gateway/api-catalogue.ts beside it gathers the drivers\' route docs for the OpenAPI document.',
      from: { path: '^gateway/', pathNot: ['^gateway/compose\\.ts$', '^gateway/api-catalogue\\.ts$'] },
      to: { path: '^drivers/' },
    },
    {
      name: 'only-compose-and-cli-reach-cloud-sync',
      comment:
        'A domain sees the city only through cloud-sync ports that compose.ts adapts; the CLI may use the ' +
        "contract's signing code (campus-gateway city-sign); gateway/api-catalogue.ts gathers its route docs.",
      from: { path: '^gateway/', pathNot: ['^gateway/compose\\.ts$', '^gateway/api-catalogue\\.ts$', '^gateway/cli/'] },
      to: { path: '^cloud-sync/' },
    },
    {
      name: 'drivers-not-cloud-sync-or-flows',
      comment: 'A driver talks to its devices and to core ports; what happens to its data upstream is not its business.',
      from: { path: '^drivers/' },
      to: { path: ['^cloud-sync/', '^flows/'] },
    },
    {
      name: 'only-cli-imports-compose',
      comment: 'gateway/compose.ts is the top: only the CLI (and tests, benchmarks) start the whole gateway.',
      from: { pathNot: ['^gateway/cli/', '^test/', '^bench/'] },
      to: { path: '^gateway/compose\\.ts$' },
    },
    {
      name: 'broker-loads-no-config-schema',
      comment:
        'The broker takes its settings as values and its defaults from config/mqtt-defaults.ts, plain numbers: ' +
        'loading a zod schema to read them kept ~3 MB of it in every broker process, and that heap cost ~10 % of ' +
        'its throughput under a flood (docs/operations.md). Types from the schema are free (erased).',
      from: { path: '^gateway/broker/' },
      to: { path: '^config/', pathNot: '^config/mqtt-defaults\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'console-imports-only-api-types',
      comment:
        'console/ runs in the browser, built by plain tsc without a bundler: it may take the gateway\'s API types from ' +
        'gateway/api-types.ts (type-only, erased from the JavaScript) and no other file of the project. (Packages are ' +
        'dropped from the graph by options.exclude below; a package import would fail in the browser tests.)',
      from: { path: '^console/' },
      to: { pathNot: ['^console/', '^gateway/api-types\\.ts$'] },
    },
    {
      name: 'console-takes-api-types-as-types',
      comment: 'The console imports gateway/api-types.ts with `import type` only, so nothing of it is emitted or served.',
      from: { path: '^console/' },
      to: { path: '^gateway/api-types\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'api-types-only-types',
      comment:
        'gateway/api-types.ts re-exports types only (`export type`), from the zod-only files its tsconfig lists, so ' +
        'the console can share them without any server code.',
      from: { path: '^gateway/api-types\\.ts$' },
      to: { dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'nothing-imports-console',
      comment: 'The gateway serves the built console (dist/console) as files; no part of it imports console/ sources.',
      from: { pathNot: ['^console/', '^test/'] },
      to: { path: '^console/' },
    },
    {
      name: 'no-folder-cycles',
      comment: 'Two folders that import each other are one folder in disguise: neither can be understood, tested or moved alone.',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
  ].map((rule) => ({ severity: 'error', ...rule })),
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^dist/', '^node_modules/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
