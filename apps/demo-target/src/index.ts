export { createDemoTarget, type DemoTarget, type DemoTargetStats } from './server.js'
export {
  defaultKnobs,
  KnobError,
  parseKnobs,
  updateKnobs,
  type Env,
  type KnobUpdate,
  type Knobs,
  type OverloadMode,
} from './knobs.js'
