/**
 * `experiments`: feedback loops run as experiments — a plant (simulated now,
 * a live graph later), a seeded scenario, one or more controllers, a
 * duration — with the outputs a person wants to look at (data.csv,
 * summary.json, report.html, report.png). The CLI commands `zmp experiment
 * list` and `zmp experiment run` dispatch to `experimentList` and
 * `experimentRun`.
 */
export { getExperiment, listExperiments, plantsOf, registerExperiment } from "./catalog/index.js";
export {
  type CliIo,
  experimentList,
  experimentRun,
  type ParsedRun,
  parseRunArgs,
} from "./cli.js";
export {
  type ChartSpec,
  type Experiment,
  type ExperimentContext,
  ExperimentInputError,
  type ExperimentResult,
  type ReportSection,
  type RunRecord,
  type ScatterSpec,
  type SeriesField,
  type SeriesSpec,
  type TableSpec,
} from "./experiment.js";
export {
  identifyQueue,
  type QueueIdentification,
  type QueueStepTest,
  type QueueTuning,
  queueStepTest,
  Schedule,
  type StepTestOptions,
  steadyScenario,
  tuneQueuePid,
} from "./identification.js";
export {
  computeMetrics,
  type MetricOptions,
  meanMetrics,
  metricKeys,
  type RunMetrics,
  timeAverage,
} from "./metrics.js";
export { CachePlant, type CachePlantOptions, cacheColumns } from "./plants/cache.js";
export { closeLiveGraph, liveGraph } from "./plants/live-graph.js";
export {
  type CachePlantSpec,
  createPlant,
  hasPlant,
  type PlantFactory,
  type PlantMode,
  type PlantModel,
  type PlantSpecs,
  type QueuePlantSpec,
  registerPlant,
} from "./plants/registry.js";
export { WorkerPool, type WorkerPoolOptions, workerPoolColumns } from "./plants/worker-pool.js";
export {
  csvFixedColumns,
  type Summary,
  type SummaryRun,
  scatterSvg,
  screenshot,
  toCsv,
  toHtml,
  toSummary,
  toSummaryJson,
  type WriteReportOptions,
  type WrittenReport,
  writeReport,
} from "./report/index.js";
export {
  type ColumnSpec,
  type ControlSetup,
  column,
  type ExperimentPlant,
  type PlantSample,
  type PlantStats,
  type RunLog,
  type RunOptions,
  runLoop,
  runLoopAsync,
  runOn,
} from "./runner.js";
export {
  burst,
  type CacheScenario,
  type CacheSignals,
  cacheShift,
  cacheSignals,
  capacityStep,
  combined,
  loadStep,
  noise,
  type QueueBase,
  type QueueScenario,
  type QueueSignals,
  queueScenarios,
  queueSignals,
  ramp,
  type Scenario,
  type SignalSpec,
  type StepMark,
  setpointStep,
  toSignal,
} from "./scenarios.js";
export {
  baselineControllers,
  type QueueController,
  type QueueKnob,
  type QueuePlantFacts,
  type QueueSetup,
  queueControllers,
  queueDefaults,
  queueKnob,
  queueOwnGoals,
  queueParams,
  queueRegulates,
  queueSetup,
  zmpControllers,
} from "./setups.js";
