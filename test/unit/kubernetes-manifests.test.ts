// deploy/kubernetes/: every object is checked against the Kubernetes schemas (kubernetes-models), with
// no key the API does not know (those schemas accept unknown keys, and the API server drops them
// silently: a typo such as `livenesProbe` would deploy without a probe), and the objects must fit
// together: selectors, Secret and ConfigMap references, probes, the agents' controller URL.
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Secret } from 'kubernetes-models/v1/Secret'
import { Service } from 'kubernetes-models/v1/Service'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'

const root = new URL('../../', import.meta.url).pathname
const dir = join(root, 'deploy/kubernetes')

/** Each kind we ship: its model class (schema validation) and its TypeScript interface (known keys). */
const kinds = {
  'v1/ConfigMap': { model: ConfigMap, module: 'kubernetes-models/v1/ConfigMap', iface: 'IConfigMap' },
  'v1/Secret': { model: Secret, module: 'kubernetes-models/v1/Secret', iface: 'ISecret' },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1/Service', iface: 'IService' },
  'apps/v1/Deployment': { model: Deployment, module: 'kubernetes-models/apps/v1/Deployment', iface: 'IDeployment' },
  'apps/v1/StatefulSet': { model: StatefulSet, module: 'kubernetes-models/apps/v1/StatefulSet', iface: 'IStatefulSet' },
} as const
type KindKey = keyof typeof kinds

interface Manifest {
  file: string
  kind: string
  name: string
  obj: Record<string, unknown>
}

function yamlFiles(at: string): string[] {
  return readdirSync(at, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(at, e.name)) : e.name.endsWith('.yaml') ? [join(at, e.name)] : [],
  )
}

function loadManifests(): Manifest[] {
  return yamlFiles(dir).flatMap((path) =>
    parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`)
      const obj = doc.toJS() as Record<string, unknown>
      const meta = obj.metadata as { name?: string } | undefined
      return {
        file: relative(root, path),
        kind: `${String(obj.apiVersion)}/${String(obj.kind)}`,
        name: meta?.name ?? '',
        obj,
      }
    }),
  )
}

/**
 * The TypeScript interfaces of kubernetes-models, read with the compiler: the keys each object type
 * has, down to every nested type (the same OpenAPI definitions the validators are generated from).
 */
function interfaceTypes(): { checker: ts.TypeChecker; types: Map<KindKey, ts.Type> } {
  const virtual = join(root, '__kubernetes_kinds__.ts')
  const entries = Object.entries(kinds) as Array<[KindKey, (typeof kinds)[KindKey]]>
  const text = entries
    .map(([, k], i) => `import type { ${k.iface} as T${i} } from '${k.module}'\nexport type K${i} = T${i}\n`)
    .join('')
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    noEmit: true,
  }
  const host = ts.createCompilerHost(options)
  const real = ts.createCompilerHost(options)
  host.fileExists = (f) => f === virtual || real.fileExists(f)
  host.readFile = (f) => (f === virtual ? text : real.readFile(f))
  host.getSourceFile = (f, v, ...rest) =>
    f === virtual ? ts.createSourceFile(f, text, v) : real.getSourceFile(f, v, ...rest)
  const program = ts.createProgram([virtual], options, host)
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(virtual)!
  const types = new Map<KindKey, ts.Type>()
  for (const statement of source.statements) {
    if (!ts.isTypeAliasDeclaration(statement)) continue
    const index = Number(statement.name.text.slice(1))
    types.set(entries[index]![0], checker.getTypeAtLocation(statement))
  }
  return { checker, types }
}

/** Paths of keys in `value` that `type` does not declare (maps such as labels take any key). */
function unknownKeys(
  checker: ts.TypeChecker,
  value: unknown,
  type: ts.Type,
  path: string,
  out: string[] = [],
): string[] {
  if (value === null || typeof value !== 'object') return out
  const t = checker.getNonNullableType(type)
  if (Array.isArray(value)) {
    const element = checker.getIndexTypeOfType(t, ts.IndexKind.Number)
    if (!element) out.push(`${path} (not a list in the schema)`)
    else value.forEach((v, i) => unknownKeys(checker, v, element, `${path}[${i}]`, out))
    return out
  }
  if (checker.getIndexTypeOfType(t, ts.IndexKind.String)) return out
  const members = t.isUnion() ? t.types : [t]
  for (const [key, v] of Object.entries(value)) {
    const property = members.map((m) => checker.getPropertyOfType(m, key)).find((p) => p !== undefined)
    if (!property) out.push(`${path}.${key}`)
    else unknownKeys(checker, v, checker.getTypeOfSymbol(property), `${path}.${key}`, out)
  }
  return out
}

const manifests = loadManifests()
const { checker, types } = interfaceTypes()
const of = (kind: KindKey) => manifests.filter((m) => m.kind === kind)
const one = (kind: KindKey, name: string) => {
  const found = of(kind).find((m) => m.name === name)
  if (!found) throw new Error(`no ${kind} named ${name} in deploy/kubernetes`)
  return found.obj
}
const workloads = [...of('apps/v1/Deployment'), ...of('apps/v1/StatefulSet')]
const podTemplate = (w: Manifest) => (w.obj.spec as { template: IPodTemplateSpec }).template
const containersOf = (w: Manifest) => podTemplate(w).spec!.containers

describe('deploy/kubernetes manifests', () => {
  it('ship a controller StatefulSet, an agent Deployment, their Service, a ConfigMap and the Secret', () => {
    expect(manifests.map((m) => `${m.kind} ${m.name}`).sort()).toEqual([
      'apps/v1/Deployment gauntlet-agent',
      'apps/v1/StatefulSet gauntlet-controller',
      'v1/ConfigMap gauntlet-config',
      'v1/Secret gauntlet-secrets',
      'v1/Service gauntlet-controller',
    ])
  })

  it.each(manifests.map((m) => [`${m.file}: ${m.kind} ${m.name}`, m] as const))(
    '%s is valid against its schema',
    (_, m) => {
      const kind = kinds[m.kind as KindKey]
      expect(kind, `unexpected kind ${m.kind}`).toBeDefined()
      expect(() => new kind.model(m.obj as never).validate()).not.toThrow()
    },
  )

  it.each(manifests.map((m) => [`${m.file}: ${m.kind} ${m.name}`, m] as const))(
    '%s has no key the API does not know',
    (_, m) => {
      expect(unknownKeys(checker, m.obj, types.get(m.kind as KindKey)!, m.name)).toEqual([])
    },
  )

  it('the unknown-key check catches a misspelt key deep in a pod template', () => {
    const agent = structuredClone(one('apps/v1/Deployment', 'gauntlet-agent'))
    const container = (agent.spec as { template: IPodTemplateSpec }).template.spec!.containers[0] as unknown as Record<
      string,
      unknown
    >
    container.livenesProbe = container.livenessProbe
    expect(() => new Deployment(agent as never).validate()).not.toThrow() // the schema alone lets it through
    expect(unknownKeys(checker, agent, types.get('apps/v1/Deployment')!, 'agent')).toEqual([
      'agent.spec.template.spec.containers[0].livenesProbe',
    ])
  })
})

describe('deploy/kubernetes objects fit together', () => {
  it.each(workloads.map((w) => [w.name, w] as const))('%s: the selector matches its pod labels', (_, w) => {
    const selector = (w.obj.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels
    expect(Object.keys(selector).length).toBeGreaterThan(0)
    expect(podTemplate(w).metadata?.labels).toMatchObject(selector)
  })

  it('the controller Service selects the controller pods only, on the controller port', () => {
    const service = one('v1/Service', 'gauntlet-controller').spec as {
      selector: Record<string, string>
      ports: Array<{ port: number; targetPort: string | number }>
    }
    const selected = workloads.filter((w) =>
      Object.entries(service.selector).every(([k, v]) => podTemplate(w).metadata?.labels?.[k] === v),
    )
    expect(selected.map((w) => `${w.kind} ${w.name}`)).toEqual(['apps/v1/StatefulSet gauntlet-controller'])
    const ports = containersOf(selected[0]!)[0]!.ports!
    const target = service.ports[0]!.targetPort
    expect(ports.some((p) => p.name === target || p.containerPort === target)).toBe(true)
    expect((one('apps/v1/StatefulSet', 'gauntlet-controller').spec as { serviceName: string }).serviceName).toBe(
      'gauntlet-controller',
    )
  })

  it('every Secret and ConfigMap reference names an object and a key that exist', () => {
    const secret = one('v1/Secret', 'gauntlet-secrets') as {
      stringData?: Record<string, string>
      data?: Record<string, string>
    }
    const secretKeys = Object.keys({ ...secret.stringData, ...secret.data })
    const configKeys = Object.keys((one('v1/ConfigMap', 'gauntlet-config') as { data: Record<string, string> }).data)
    const refs = workloads.flatMap((w) => containersOf(w).flatMap((c) => c.env ?? []))
    expect(refs.length).toBeGreaterThan(0)
    for (const env of refs) {
      const { secretKeyRef, configMapKeyRef } = env.valueFrom ?? {}
      if (secretKeyRef)
        expect([secretKeyRef.name, secretKeyRef.key]).toEqual(['gauntlet-secrets', expect.toBeOneOf(secretKeys)])
      if (configMapKeyRef)
        expect([configMapKeyRef.name, configMapKeyRef.key]).toEqual(['gauntlet-config', expect.toBeOneOf(configKeys)])
      if (secretKeyRef || configMapKeyRef) expect(secretKeyRef ? secretKeyRef.key : configMapKeyRef!.key).toBe(env.name)
    }
    for (const from of workloads.flatMap((w) => containersOf(w).flatMap((c) => c.envFrom ?? []))) {
      expect(from.configMapRef?.name ?? from.secretRef?.name).toBeOneOf(['gauntlet-config', 'gauntlet-secrets'])
    }
    const secretUsers = (name: string) =>
      workloads.filter((w) => containersOf(w).some((c) => c.env?.some((e) => e.valueFrom?.secretKeyRef?.key === name)))
    expect(secretUsers('GAUNTLET_TOKEN').map((w) => w.name)).toEqual(['gauntlet-controller'])
    expect(
      secretUsers('GAUNTLET_AGENT_SECRET')
        .map((w) => w.name)
        .sort(),
    ).toEqual(['gauntlet-agent', 'gauntlet-controller'])
  })

  it.each(workloads.map((w) => [w.name, w] as const))(
    '%s: liveness and readiness probes GET /healthz on the container port',
    (_, w) => {
      for (const c of containersOf(w)) {
        const listen = Number(flagValue(c, '--port'))
        const port = c.ports!.find((p) => p.containerPort === listen)
        expect(port, `${c.name} exposes its --port ${listen}`).toBeDefined()
        for (const probe of [c.livenessProbe, c.readinessProbe]) {
          expect(probe?.httpGet?.path).toBe('/healthz')
          expect([port!.name, port!.containerPort]).toContain(probe?.httpGet?.port)
        }
      }
    },
  )

  it('the agents call the controller through its Service, at the Service port', () => {
    const [agent] = containersOf(workloads.find((w) => w.name === 'gauntlet-agent')!)
    const url = new URL(flagValue(agent!, '--controller'))
    const service = one('v1/Service', 'gauntlet-controller') as {
      metadata: { name: string }
      spec: { ports: Array<{ port: number }> }
    }
    expect(url.hostname).toBe(service.metadata.name)
    expect(Number(url.port)).toBe(service.spec.ports[0]!.port)
    expect(agent!.args?.[0]).toBe('agent')
  })

  it('the controller keeps its database and fault journal on the claim template volume', () => {
    const controller = workloads.find((w) => w.name === 'gauntlet-controller')!
    const claims = (controller.obj.spec as { volumeClaimTemplates: Array<{ metadata: { name: string } }> })
      .volumeClaimTemplates
    const [c] = containersOf(controller)
    // Both files it writes (the root filesystem is read-only): the database and the fault journal.
    const journal = c!.env?.find((e) => e.name === 'GAUNTLET_FAULT_JOURNAL')?.value
    for (const path of [flagValue(c!, '--db'), journal]) {
      const mount = c!.volumeMounts!.find((m) => path?.startsWith(`${m.mountPath}/`))
      expect(
        claims.map((t) => t.metadata.name),
        `${path} on the claim`,
      ).toContain(mount?.name)
    }
  })

  it.each(workloads.map((w) => [w.name, w] as const))(
    '%s: non-root, read-only root filesystem, no capabilities, bounded resources',
    (_, w) => {
      const pod = podTemplate(w).spec!
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 })
      expect(pod.automountServiceAccountToken).toBe(false)
      const volumes = new Set([...(pod.volumes ?? []).map((v) => v.name), ...claimNames(w)])
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        })
        for (const bound of [c.resources?.requests, c.resources?.limits]) {
          expect(Object.keys(bound ?? {}).sort()).toEqual(['cpu', 'memory'])
        }
        // A read-only root: the working directory (/data) and /tmp must be volumes.
        expect(c.volumeMounts?.map((m) => m.mountPath).sort()).toEqual(['/data', '/tmp'])
        for (const m of c.volumeMounts ?? []) expect(volumes.has(m.name), `volume ${m.name}`).toBe(true)
      }
    },
  )
})

function claimNames(w: Manifest): string[] {
  const claims = (w.obj.spec as { volumeClaimTemplates?: Array<{ metadata: { name: string } }> }).volumeClaimTemplates
  return (claims ?? []).map((t) => t.metadata.name)
}

/** The value after `flag` in a container's args. */
function flagValue(c: IContainer, flag: string): string {
  const args = c.args ?? []
  const at = args.indexOf(flag)
  if (at < 0 || at + 1 >= args.length) throw new Error(`container ${c.name} has no ${flag} <value>`)
  return args[at + 1]!
}
