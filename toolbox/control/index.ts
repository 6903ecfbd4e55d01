/**
 * `zmp/control`: the control-theory half of zmp. Pure TypeScript maths: no
 * I/O, no zeromq, deterministic; runs in Node, a browser page or a notebook.
 */
export {
  Aimd,
  type AimdOptions,
  Codel,
  type CodelComponents,
  type CodelOptions,
  CodelQueue,
  type CodelQueueOptions,
  FixedRate,
  type FixedRateOptions,
  FixedWindow,
  type FixedWindowOptions,
  Gradient2,
  type Gradient2Components,
  type Gradient2Options,
  Pie,
  type PieComponents,
  type PieOptions,
  PieQueue,
  type PieQueueOptions,
  pieAutoTuneScale,
  type QueueDiscipline,
  Vegas,
  type VegasComponents,
  type VegasOptions,
  vegasLog10,
} from "./baselines/index.js";
export { Cascade, type CascadeOptions, type InnerSignal } from "./cascade.js";
export type { Controller, ControllerParams, Observation } from "./controller.js";
export { observe } from "./controller.js";
export {
  type CascadeSpecOptions,
  type ControllerKind,
  type ControllerOptionsMap,
  type ControllerSpec,
  controllerKinds,
  createController,
} from "./controller-registry.js";
export { DelayWindow, type DelayWindowComponents, type DelayWindowOptions } from "./delay-window.js";
export { type DiscretizeOptions, discretize } from "./discretize.js";
export {
  type FitQuality,
  type FopdtFit,
  type IdentifyFopdtOptions,
  type IdentifyIntegratingOptions,
  type IntegratingFit,
  identifyFopdt,
  identifyIntegrating,
  type StepTestData,
} from "./identify.js";
export {
  effort,
  iae,
  ise,
  itae,
  type LoopPerformance,
  loopPerformance,
  rmse,
  type Setpoint,
} from "./indices.js";
export {
  type LoopMargins,
  loopMargins,
  loopResponse,
  type MarginOptions,
  type PidGains,
  type ProcessModel,
  type SampledDesign,
  type SampledDesignOptions,
  type SampledLimits,
  simcSampled,
} from "./margins.js";
export {
  type AntiWindup,
  type FeedforwardSignal,
  Pid,
  type PidComponents,
  type PidDirection,
  type PidMode,
  type PidOptions,
} from "./pid.js";
export { AstromMurrayQueue, type AstromMurrayQueueOptions } from "./plants/astrom-murray-queue.js";
export { EventQueue, type EventQueueOptions, type EventQueueSummary } from "./plants/event-queue.js";
export { FluidQueue, type FluidQueueOptions } from "./plants/fluid-queue.js";
export { Fopdt, type FopdtObservation, type FopdtOptions } from "./plants/fopdt.js";
export type { Plant, PlantInput, PlantObservation, QueueObservation } from "./plants/plant.js";
export {
  checkShape,
  type DistributionShape,
  Random,
  sampleWithMean,
  secondMoment,
  uniformAt,
} from "./random.js";
export { ServiceRateEstimator, type ServiceRateEstimatorOptions } from "./rate-estimator.js";
export {
  type RelayAutotuneOptions,
  type RelayOptions,
  type RelayResult,
  type RelayTrace,
  RelayTuner,
  relayAutotune,
} from "./relay.js";
export {
  defaultTimes,
  forcedResponse,
  impulseResponse,
  stepResponse,
  type TimeResponse,
} from "./response.js";
export type { Signal, SignalLike } from "./signals.js";
/** Time-varying inputs: `signals.step({ at: 5, from: 100, to: 60 })`, `signals.sum(...)`. */
export * as signals from "./signals.js";
export { movingAverage } from "./smoothing.js";
export {
  type MeasuredStepOptions,
  measuredStepInfo,
  type StepInfo,
  type StepInfoOfOptions,
  type StepInfoOptions,
  stepInfo,
  stepInfoOf,
} from "./step-info.js";
export {
  approximateDelay,
  type ComplexValue,
  dcGain,
  feedback,
  type PidTfOptions,
  pade,
  parallel,
  pidTf,
  poles,
  type SystemLike,
  series,
  TransferFunction,
  type TransferFunctionOptions,
  tf,
  zeros,
} from "./tf.js";
export {
  amigo,
  amigoIntegrating,
  type ControllerForm,
  type ControllerType,
  cohenCoon,
  type FopdtModel,
  type IntegratingModel,
  imc,
  type LambdaOptions,
  lambdaIntegrating,
  lambdaTuning,
  type RuleOptions,
  type SimcOptions,
  seriesToIdeal,
  simc,
  simcIntegrating,
  type TuningResult,
  type UltimateCycle,
  zieglerNicholsStep,
  zieglerNicholsUltimate,
} from "./tuning.js";
/** The argument checks every toolbox boundary uses: `validate.positive("rate", x)`, `validate.checkOptions(…)`. */
export * as validate from "./validate.js";
export { VelocityPid, type VelocityPidComponents, type VelocityPidOptions } from "./velocity-pid.js";
