/** Every suite the runner knows, by name; a new suite is a file here and one line below. */
import type { Suite } from '../suite.js';
import { accessLogsSuite } from './access-logs.js';
import { baselinesSuite } from './baselines.js';
import { checkpointCostSuite } from './checkpoint-cost.js';
import { clusterSuite } from './cluster.js';
import { coordinatorScaleSuite } from './coordinator-scale.js';
import { freshnessSuite } from './freshness.js';
import { incrementalSuite } from './incremental.js';
import { latencySuite } from './latency.js';
import { pushSuite } from './push.js';
import { recordsSuite } from './records.js';
import { recoverySuite } from './recovery.js';
import { skewSuite } from './skew.js';
import { wordcountSuite } from './wordcount.js';

/**
 * The suites in the order `npm run bench` runs them when none is named. Registering a suite is
 * its import above and one line here.
 */
// biome-ignore format: one suite per line, so suites added at the same time merge without conflicts
export const SUITES: readonly Suite[] = [
  wordcountSuite,
  clusterSuite,
  latencySuite,
  pushSuite,
  baselinesSuite,
  incrementalSuite,
  recordsSuite,
  skewSuite,
  freshnessSuite,
  coordinatorScaleSuite,
  accessLogsSuite,
  checkpointCostSuite,
  recoverySuite,
];
