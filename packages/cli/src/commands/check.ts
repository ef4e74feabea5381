/**
 * `mrm check <job>`: type-checks a job file (and the local modules it imports) against the
 * public types of `@mrm/core`, with the TypeScript compiler API, and checks that its default
 * export is a job spec. `run` and `submit` do not type-check: they bundle with esbuild, which
 * strips types. Errors are printed as `file:line:col message`, one per line on stdout.
 */
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { ErrorCode, MrmError } from '@mrm/core';
import ts from 'typescript';
import { say } from '../report.js';

/** The name of the extra module that checks the default export: beside the job, never on disk. */
const PROBE_FILE = '__mrm_check_default_export__.ts';

/** Compiler options for job files: strict, like the framework's own code; nothing emitted. */
function jobCompilerOptions(): ts.CompilerOptions {
  const require = createRequire(import.meta.url);
  const coreTypes = require.resolve('@mrm/core').replace(/\.js$/, '.d.ts');
  let typeRoots: string[] | undefined;
  try {
    typeRoots = [dirname(dirname(require.resolve('@types/node/package.json')))];
  } catch {
    typeRoots = undefined; // no @types/node installed: node globals are then unknown to jobs
  }
  return {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    esModuleInterop: true,
    skipLibCheck: true,
    allowJs: true,
    checkJs: false,
    resolveJsonModule: true,
    // A job anywhere on disk imports `@mrm/core`: the types of the framework that runs it.
    paths: { '@mrm/core': [coreTypes] },
    ...(typeRoots !== undefined ? { typeRoots, types: ['node'] } : { types: [] }),
  };
}

/** One diagnostic as `file:line:col message` (paths relative to the working directory). */
function formatDiagnostic(d: ts.Diagnostic, probe: string, job: ts.SourceFile | undefined): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
  if (d.file === undefined || d.start === undefined) return `error TS${d.code}: ${message}`;
  if (d.file.fileName === probe) {
    // An error in the probe is about the job's default export: say it where that export is.
    const at = job !== undefined ? defaultExportPosition(job) : 0;
    const { line, character } = job?.getLineAndCharacterOfPosition(at) ?? { line: 0, character: 0 };
    const where = relative(process.cwd(), job?.fileName ?? d.file.fileName);
    return `${where}:${line + 1}:${character + 1} the default export is not a job spec: ${message}`;
  }
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return `${relative(process.cwd(), d.file.fileName)}:${line + 1}:${character + 1} ${message}`;
}

function defaultExportPosition(file: ts.SourceFile): number {
  for (const s of file.statements) {
    if (ts.isExportAssignment(s)) return s.getStart(file);
  }
  return 0;
}

/** Type-checks `jobPath`; returns the diagnostics as lines (empty when it type-checks). */
export function checkJobTypes(jobPath: string): string[] {
  const file = resolve(jobPath);
  if (!ts.sys.fileExists(file)) {
    throw new MrmError(ErrorCode.JobLoad, `cannot check job '${jobPath}': no such file`);
  }
  const probe = join(dirname(file), PROBE_FILE);
  const probeText = [
    "import type { JobSpec } from '@mrm/core';",
    `import job from ${JSON.stringify(`./${basename(file)}`)};`,
    'const spec: JobSpec = job;',
    'export { spec };',
    '',
  ].join('\n');
  const options = jobCompilerOptions();
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    resolve(name) === probe
      ? ts.createSourceFile(name, probeText, languageVersion, true)
      : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => resolve(name) === probe || fileExists(name);
  const program = ts.createProgram({ rootNames: [file, probe], options, host });
  const job = program.getSourceFile(file);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => formatDiagnostic(d, probe, job));
}

/** Runs `mrm check`: prints every type error; fails (exit 1) when there is one. */
export async function checkCommand(jobPath: string): Promise<void> {
  const errors = checkJobTypes(jobPath);
  for (const line of errors) process.stdout.write(`${line}\n`);
  if (errors.length > 0) {
    throw new MrmError(
      ErrorCode.JobInvalid,
      `${errors.length} type error${errors.length === 1 ? '' : 's'} in job '${jobPath}'`,
    );
  }
  say(`${jobPath}: no type errors`);
}
