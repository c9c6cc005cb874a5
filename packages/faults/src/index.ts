export { adhocFault } from './adhoc-fault.js'
export { buildFault, buildFaults, parseBytes, parseRate, type ScheduledFault } from './fault-loader.js'
export type { FaultEngine, FaultReport, RevertOptions } from './fault-engine.js'
export type { PrepareOptions } from './fault-engine.js'
export { movedOrTimedOut } from './fault-engine.js'
export { HostInjector, type ContainerFinder } from './host-injector.js'
export { preflight } from './preflight.js'
export { FaultJournal, type JournalEntry } from './fault-journal.js'
export { planFault, netemArgs, tbfArgs, qdiscHandle, type Command, type FaultPlan } from './fault-plan.js'
export { kernelSupport, type KernelSupport } from './kernel-probe.js'
export { localFaultEngine, type LocalFaultEngineOptions } from './local-fault-engine.js'
export { LocalFaultEngine, defaultHolderImage, injectorChoices, type InjectorChoice } from './local-fault-engine.js'
export { HolderInjector, type HolderInjectorDeps } from './holder-injector.js'
export { Reconciler, cleanTarget, reconcileIntervalMs } from './holder-reconcile.js'
export { holderCreateOptions, holderLabels } from './holder-container.js'
export {
  holdFault,
  parseHoldPlan,
  probeHere,
  cleanFault,
  planFromStdin,
  standbyLimitMs,
  type HoldPlan,
  type HolderEvent,
  type CleanResult,
} from './holder-program.js'
export { probeThisNamespace } from './kernel-probe.js'
export { ownNamespace } from './netns.js'
export type { ApplyOptions } from './fault-engine.js'
export { readMarks, marksOf, isClean, removeMarks, interfaceOf, type GauntletMarks } from './namespace-state.js'
export { exec, mustRun, nsenter, type Netns, type CommandResult } from './netns.js'
export {
  DockerTargets,
  chooseTargets,
  containerPathSegment,
  engineAddress,
  targetSelector,
  type TargetContainer,
} from './docker-targets.js'
export { faultTypeUnits, faultTypeUnit, type FaultTypeUnit } from './registry.js'
export { DockerEngineView, type EngineInventory } from './engine-inventory.js'
export { inventoryOf } from './engine-inventory.js'
