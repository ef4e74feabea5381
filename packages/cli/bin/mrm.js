#!/usr/bin/env node
// The `mrm` executable: source maps on (job bundles carry inline maps), then the CLI.
process.setSourceMapsEnabled(true);
const { main } = await import('../dist/main.js');
process.exitCode = await main(process.argv);
