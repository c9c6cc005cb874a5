// `node test/helpers/loaded-modules.mjs <specifier>` imports <specifier> (a package entry, or a path from the
// repository root) and prints every module that import loaded, one file URL or node: name a line: ES modules as
// a load hook sees them, CommonJS ones from require.cache (a require() inside CommonJS passes no ES hook).
// For tests of what a start-up loads; plain JS so it runs as is.
import { createRequire, register } from 'node:module'
import { pathToFileURL } from 'node:url'

const hooks = `
import { writeSync } from 'node:fs'
export async function load(url, context, next) {
  writeSync(1, 'module ' + url + '\\n')
  return next(url, context)
}`
register(`data:text/javascript,${encodeURIComponent(hooks)}`)

const [specifier] = process.argv.slice(2)
if (!specifier) throw new Error('usage: node test/helpers/loaded-modules.mjs <specifier>')
const root = new URL('../../', import.meta.url)
await import(specifier.startsWith('.') ? new URL(specifier, root).href : specifier)
for (const file of Object.keys(createRequire(import.meta.url).cache)) console.log(`module ${pathToFileURL(file).href}`)
