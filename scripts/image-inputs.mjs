#!/usr/bin/env node
// Prints one hash of everything `npm run image` builds gauntlet:local from: the Dockerfile, the
// .dockerignore and the files that allow-list lets into the build context (kept in step with it by
// hand: the root manifests and the apps/, packages/, scenarios/ trees minus node_modules, dist,
// *.tsbuildinfo and *.md). scripts/image.sh stores it as the image label `gauntlet.inputs`;
// test/helpers/gauntlet-image.ts rebuilds when the label differs from a fresh hash.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const files = [
  'Dockerfile',
  '.dockerignore',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.base.json',
]
const trees = ['apps', 'packages', 'scenarios']
const skipDirs = new Set(['node_modules', 'dist'])
const skipFile = (name) => name.endsWith('.tsbuildinfo') || name.endsWith('.md')

function walk(dir, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (!skipDirs.has(entry.name)) walk(path, out)
    } else if (entry.isFile() && !skipFile(entry.name)) {
      out.push(relative(root, path))
    }
  }
  return out
}

export function imageInputsHash() {
  const paths = [...files, ...trees.flatMap((tree) => walk(join(root, tree), []))].sort()
  const hash = createHash('sha256')
  for (const path of paths) {
    const full = join(root, path)
    // Mode too: an executable bit is part of what lands in the image.
    hash.update(`${path}\0${statSync(full).mode & 0o111 ? 'x' : '-'}\0`)
    hash.update(readFileSync(full))
    hash.update('\0')
  }
  return hash.digest('hex').slice(0, 16)
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  console.log(imageInputsHash())
}
