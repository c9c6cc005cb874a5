import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyPluginCallback } from 'fastify'
import { GauntletError } from '@gauntlet/contracts'

/** One file the dashboard is made of, read once at start: nothing is served from a path a request names. */
interface Asset {
  body: Buffer
  type: string
  etag: string
}

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
}

/**
 * The dashboard (packages/dashboard): its page at `/`, its files under `/ui/`. The files are public
 * (they are the open-source code, no data); what the page shows comes from the API, with the token the
 * page asks for. The page's CSP allows scripts from this origin and its import map (by hash) only.
 */
export interface DashboardOptions {
  /** What callers need: `token` (every read too), `public-read` (changes only) or `none`. */
  auth: 'token' | 'public-read' | 'none'
}

export const dashboardRoutes: FastifyPluginCallback<DashboardOptions> = (app, options, done) => {
  const open = { config: { publicAsset: true }, schema: { hide: true } }
  let dashboard: ReturnType<typeof loadDashboard>
  try {
    dashboard = loadDashboard()
  } catch (error) {
    // A controller without its dashboard (a checkout that did not build it) still serves the API.
    const reason = `the dashboard is not built here (${(error as Error).message.split('\n')[0]}); run npm run build`
    app.get('/', open, () => {
      throw new GauntletError('not_found', reason)
    })
    return done()
  }
  const { csp, assets } = dashboard
  // The page asks for the token before its first call when every read needs one.
  const page = dashboard.page.replace(
    '<meta name="gauntlet-auth" content="none" />',
    `<meta name="gauntlet-auth" content="${options.auth}" />`,
  )
  app.get('/', open, (_request, reply) =>
    reply
      .header('content-type', types['.html'])
      .header('cache-control', 'no-cache')
      .header('content-security-policy', csp)
      .send(page),
  )
  app.get<{ Params: { '*': string } }>('/ui/*', open, (request, reply) => {
    const asset = assets.get(request.params['*'])
    if (!asset) throw new GauntletError('not_found', `no dashboard file ${request.params['*'].slice(0, 100)}`)
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send()
    return reply
      .header('content-type', asset.type)
      .header('cache-control', 'no-cache')
      .header('etag', asset.etag)
      .send(asset.body)
  })
  done()
}

let cached: { page: string; csp: string; assets: Map<string, Asset> } | undefined

/** Reads the built dashboard and what it loads (Preact, htm, uPlot, the chart module) from the installed packages. */
function loadDashboard(): { page: string; csp: string; assets: Map<string, Asset> } {
  if (cached) return cached
  const require = createRequire(import.meta.url)
  const dashboardDir = dirname(require.resolve('@gauntlet/dashboard/package.json'))
  const fromDashboard = createRequire(join(dashboardDir, 'package.json'))
  const fromCharts = createRequire(require.resolve('@gauntlet/charts/package.json'))
  // The browser builds (ES modules) by path inside each package: their exports map names only Node's.
  const preact = dirname(fromDashboard.resolve('preact/package.json'))
  const htm = join(dirname(fromDashboard.resolve('htm')), '..')
  const files: Record<string, string> = {
    'style.css': join(dashboardDir, 'static/style.css'),
    'vendor/preact.module.js': join(preact, 'dist/preact.module.js'),
    'vendor/hooks.module.js': join(preact, 'hooks/dist/hooks.module.js'),
    'vendor/htm.module.js': join(htm, 'dist/htm.module.js'),
    'vendor/htm-preact.module.js': join(htm, 'preact/index.module.js'),
    'vendor/charts.js': require.resolve('@gauntlet/charts/charts.js'),
    'vendor/chart-data.js': fileURLToPath(import.meta.resolve('@gauntlet/chart-data')),
    'vendor/uPlot.iife.min.js': fromCharts.resolve('uplot/dist/uPlot.iife.min.js'),
    'vendor/uPlot.min.css': fromCharts.resolve('uplot/dist/uPlot.min.css'),
  }
  const appDir = join(dashboardDir, 'dist')
  for (const file of walk(appDir)) if (file.endsWith('.js')) files[`app/${relative(appDir, file)}`] = file
  const assets = new Map<string, Asset>()
  for (const [name, path] of Object.entries(files)) {
    const body = readFileSync(path)
    const type = types[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream'
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` })
  }
  const page = readFileSync(join(dashboardDir, 'static/index.html'), 'utf8')
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(page)?.[1] ?? ''
  const hash = createHash('sha256').update(importMap).digest('base64')
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self' 'unsafe-inline'", // the chart module injects its <style>; uPlot sets element styles
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
  cached = { page, csp, assets }
  return cached
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  )
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The dashboard's own files: served without the API token (they hold no data). */
    publicAsset?: boolean
  }
}
