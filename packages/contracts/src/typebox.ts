// Gauntlet's one door to TypeBox on the paths where start-up counts (`gauntlet run`, the CLI). TypeBox is
// ~210 ES modules, and Node 20 pays ~0.35 ms of CPU per module: ~80 ms. `npm run build` bundles this file's
// compiled output into one module, `dist/typebox.bundle.js` (scripts: packages/contracts/bundle-typebox.mjs),
// which loads in ~8 ms. Imports resolve to the bundle at run time through package.json ("#typebox" inside
// this package, "@gauntlet/contracts/typebox" outside it); their types come from here.
//
// The bundle is a second copy of TypeBox beside the package's own (fastify's type provider and the agent
// client's compiler load that one). Schemas pass between the copies: TypeBox marks them with global
// symbols (Symbol.for('TypeBox.Kind')). What does not pass is a registry: register no format or type here.
export * from '@sinclair/typebox'
export { Errors, ValueErrorIterator, ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
