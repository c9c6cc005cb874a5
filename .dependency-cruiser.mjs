// Dependency rules for every workspace's src/ (npm run lint runs them). Dependencies point one way:
//   contracts ← (metrics, http, faults) ← agent ← controller, and demo-target stands alone.
// Paths are relative to the repository root; workspace packages resolve to their src/ entry through
// tsconfig.depcruise.json, so the graph is the TypeScript sources, type-only imports included.

/** A controller folder, e.g. controllerFolder('storage') matches apps/controller/src/storage/. */
const controllerFolder = (name) => `^apps/controller/src/${name}/`

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    // ── cycles ─────────────────────────────────
    {
      name: 'no-module-cycle',
      comment: 'A module reaches itself through its imports.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle',
      comment: 'Two folders import each other, directly or through others: split or move what they share.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },

    // ── direction between workspaces ───────────
    {
      name: 'contracts-imports-no-workspace',
      comment: 'packages/contracts is the base: shared types and schemas only.',
      severity: 'error',
      from: { path: '^packages/contracts/src/' },
      to: { path: '^(packages|apps)/', pathNot: '^packages/contracts/' },
    },
    {
      name: 'metrics-imports-only-contracts',
      severity: 'error',
      from: { path: '^packages/metrics/src/' },
      to: { path: '^(packages|apps)/', pathNot: '^packages/(contracts|metrics)/' },
    },
    {
      name: 'http-imports-only-contracts',
      severity: 'error',
      from: { path: '^packages/http/src/' },
      to: { path: '^(packages|apps)/', pathNot: '^packages/(contracts|http)/' },
    },
    {
      name: 'faults-imports-only-contracts',
      comment: 'packages/faults is used by the agent and the CLI; it knows no server, store or run.',
      severity: 'error',
      from: { path: '^packages/faults/src/' },
      to: { path: '^(packages|apps)/', pathNot: '^packages/(contracts|faults)/' },
    },
    {
      name: 'chart-data-is-pure',
      comment:
        'packages/chart-data loads in Node and in the browser as one file: type-only imports, no workspace code.',
      severity: 'error',
      from: { path: '^packages/chart-data/src/' },
      to: { path: '^(packages|apps)/', pathNot: '^packages/chart-data/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'agent-imports-no-app',
      comment: 'The agent runs without a controller; the controller embeds the agent, never the reverse.',
      severity: 'error',
      from: { path: '^apps/agent/src/' },
      to: { path: '^apps/', pathNot: '^apps/agent/' },
    },
    {
      name: 'demo-target-stands-alone',
      comment: 'The demo target is a stand-in for the system under test: it shares no code with Gauntlet.',
      severity: 'error',
      from: { path: '^apps/demo-target/src/' },
      to: { path: '^(packages|apps)/', pathNot: '^apps/demo-target/' },
    },
    {
      name: 'workspace-entry-only',
      comment:
        'Another workspace is imported through its package entry (@gauntlet/x, the pure @gauntlet/faults/documents, @gauntlet/contracts/plain: the contracts without their schemas, @gauntlet/contracts/typebox: TypeBox bundled into one module, or @gauntlet/agent/generator: the load generator without the agent service), never its internals.',
      severity: 'error',
      from: { path: '^(packages|apps)/([^/]+)/' },
      to: {
        path: '^(packages|apps)/',
        pathNot: [
          '^$1/$2/',
          '^(packages|apps)/[^/]+/src/index\\.ts$',
          '^packages/faults/src/documents\\.ts$',
          '^packages/contracts/src/plain\\.ts$',
          '^packages/contracts/src/typebox\\.ts$',
          '^apps/agent/src/generator\\.ts$',
        ],
      },
    },

    // ── inside the controller ──────────────────
    {
      name: 'decision-is-pure',
      comment:
        'decision/ judges numbers: no I/O (node modules, drivers, servers, other controller folders) and no ' +
        'text formatting (report/).',
      severity: 'error',
      from: { path: controllerFolder('decision') },
      to: {
        path: [
          '^apps/controller/src/(?!decision/)[^/]+/',
          '^apps/(agent|demo-target)/',
          '^packages/http/',
          '^node_modules/',
        ],
        pathNot: '^node_modules/@sinclair/typebox/',
      },
    },
    {
      name: 'decision-uses-no-node-module',
      severity: 'error',
      from: { path: controllerFolder('decision') },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'routes-call-services',
      comment: 'An http route calls a service (a *-service.ts); it does not open the store or parse a scenario itself.',
      severity: 'error',
      from: { path: '^apps/controller/src/http/[^/]+-routes\\.ts$' },
      to: {
        path: [controllerFolder('storage'), `${controllerFolder('scenario')}(?!scenario\\.ts$|[^/]+-service\\.ts$)`],
      },
    },

    // ── the graph itself ───────────────────────
    {
      name: 'resolvable',
      comment: 'Every import resolves; an unresolved one would silently escape every rule above.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
    doNotFollow: { path: '^node_modules/' },
    reporterOptions: { text: { highlightFocused: true } },
  },
}
