export { adhocFault } from './adhoc-fault.js'
export { buildFault, buildFaults, parseBytes, parseRate, type ScheduledFault } from './fault-loader.js'
export type { FaultEngine, FaultReport, RevertOptions } from './fault-engine.js'
export { HostInjector, type ContainerFinder } from './host-injector.js'
export { preflight } from './preflight.js'
export { FaultJournal, type JournalEntry } from './fault-journal.js'
export { planFault, netemArgs, tbfArgs, qdiscHandle, type Command, type FaultPlan } from './fault-plan.js'
export { kernelSupport, type KernelSupport } from './kernel-probe.js'
export { localFaultEngine, type LocalFaultEngineOptions } from './local-fault-engine.js'
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
