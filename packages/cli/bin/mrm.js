#!/usr/bin/env node
// The `mrm` executable: V8's heap growth bounded (decisions/0035), source maps on (job bundles
// carry inline maps), then the CLI.
import { setFlagsFromString } from 'node:v8';

// Old space may grow 20 % past what the last full GC kept before the next full GC, in every
// isolate of the process (map threads too), unless the user chose otherwise on node's command line.
if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent')))
  setFlagsFromString('--heap-growing-percent=20');
process.setSourceMapsEnabled(true);
const { main } = await import('../dist/main.js');
process.exitCode = await main(process.argv);
