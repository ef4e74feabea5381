#!/usr/bin/env node
// The `mrm` executable: source maps on (job bundles carry inline maps), then the CLI.
process.setSourceMapsEnabled(true);
const { main } = await import('../dist/main.js');
const code = await main(process.argv);
process.exitCode = code;
// A failed command has printed its one line: it ends now, even if something it opened is still
// open (a connection, a thread), instead of living on unseen (decisions/0043). stderr and stdout
// are written synchronously to files and pipes, so nothing printed is lost.
if (code !== 0) process.exit(code);
