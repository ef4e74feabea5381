/**
 * Loading job files: a TypeScript or JavaScript module anywhere on disk whose default export is a
 * job spec. The file is bundled with esbuild (its relative modules and the npm packages installed
 * near it go into the bundle), stored under its content hash, and imported from there.
 *
 * `@mrm/*` imports stay OUT of the bundle as bare specifiers, so a job file needs no
 * node_modules of its own, and the stored code is the same on every machine. Only when the bundle
 * is written to disk ({@link materializeBundle}) are those specifiers pointed at the framework
 * copy that is running, so the job and the engine share one `@mrm/core`.
 *
 * ```ts
 * const { job, ref } = await loadJob('jobs/wordcount.ts', '.mrm/bundles');
 * ```
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JobRef, ResolvedJob } from '@mrm/core';
import { ErrorCode, errorMessage, jobFromModule, MrmError } from '@mrm/core';
import type { BuildOptions, Message, Plugin } from 'esbuild';
import { hashBuildFiles, readCachedBundle, writeCachedBundle } from './bundle-cache.js';

/** A bundled job file: self-contained ESM code except for bare `@mrm/*` imports. */
export interface JobBundle {
  /** The bundle's code (ESM, with an inline source map). */
  readonly code: string;
  /** SHA-256 of `code`, lowercase hex: names the bundle in caches and on the wire. */
  readonly hash: string;
  /** Absolute path of the job file it was built from. */
  readonly sourcePath: string;
}

/** A job file, bundled, written to the bundle cache and imported. */
export interface LoadedJob {
  /** The validated job spec. */
  readonly job: ResolvedJob;
  /** The bundle it was imported from. */
  readonly bundle: JobBundle;
  /** Path of the materialized bundle (`<cacheDir>/<hash>.mjs`). */
  readonly bundlePath: string;
  /** How protocol messages name the job. */
  readonly ref: JobRef;
}

const FRAMEWORK_SPECIFIER = /^@mrm\//;
const CJS_BRIDGE_NAMESPACE = 'mrm-cjs-bridge';

/**
 * Keeps `@mrm/*` external. An `import` stays a bare import. A CommonJS `require('@mrm/core')`
 * cannot stay a `require` (an ESM bundle has none that finds the framework), so it is routed
 * through a tiny ESM module that re-exports the external package, which esbuild turns into an
 * import plus a CommonJS view of it.
 */
const frameworkExternal: Plugin = {
  name: 'mrm-framework-external',
  setup(b) {
    b.onResolve({ filter: FRAMEWORK_SPECIFIER }, (args) =>
      args.kind === 'require-call'
        ? { path: args.path, namespace: CJS_BRIDGE_NAMESPACE }
        : { path: args.path, external: true },
    );
    b.onLoad({ filter: /.*/, namespace: CJS_BRIDGE_NAMESPACE }, (args) => ({
      contents: `export * from ${JSON.stringify(args.path)};`,
      loader: 'js',
    }));
  },
};

/**
 * Gives bundled CommonJS packages a working `require` for Node built-ins and the like (esbuild's
 * ESM output otherwise throws "Dynamic require of ... is not supported"). esbuild renames any
 * top-level `require` of the job itself, so this cannot clash.
 */
const REQUIRE_BANNER =
  "import { createRequire as __mrmCreateRequire } from 'node:module'; const require = __mrmCreateRequire(import.meta.url);";

/** The first line of a message: errors of this module are one line; `cause` keeps the rest. */
function firstLine(text: string): string {
  const end = text.indexOf('\n');
  return end === -1 ? text : text.slice(0, end);
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `file:line:col: message` of esbuild's first error (1-based column, counted in characters). */
function describeBuildError(error: unknown, jobPath: string, absolutePath: string, workingDir: string): MrmError {
  const first: Message | undefined = (error as { errors?: Message[] }).errors?.[0];
  if (first === undefined) {
    return new MrmError(ErrorCode.JobLoad, `${jobPath}: cannot be bundled: ${firstLine(errorMessage(error))}`, {
      cause: error,
    });
  }
  const loc = first.location;
  if (loc === null) return new MrmError(ErrorCode.JobLoad, `${jobPath}: ${firstLine(first.text)}`, { cause: error });
  const file = path.resolve(workingDir, loc.file);
  // The job file is named as the user typed it; other files relative to the working directory.
  const shown = file === absolutePath ? jobPath : path.relative(process.cwd(), file);
  // esbuild counts columns in UTF-8 bytes from 0; editors count characters from 1.
  const column = Buffer.from(loc.lineText, 'utf8').subarray(0, loc.column).toString('utf8').length + 1;
  return new MrmError(ErrorCode.JobLoad, `${shown}:${loc.line}:${column}: ${firstLine(first.text)}`, {
    cause: error,
    details: { file: shown, line: loc.line, column },
  });
}

/** esbuild's options for a job file in `workingDir` (the job's folder). */
function buildOptions(sourcePath: string, workingDir: string): BuildOptions {
  return {
    entryPoints: [sourcePath],
    absWorkingDir: workingDir,
    bundle: true,
    packages: 'bundle',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    sourcemap: 'inline',
    sourcesContent: false,
    sourceRoot: `${pathToFileURL(workingDir).href}/`,
    banner: { js: REQUIRE_BANNER },
    logLevel: 'silent',
    plugins: [frameworkExternal],
  };
}

let settingsFingerprint: string | undefined;

/**
 * What else than the input files decides a bundle's code: the build options (paths aside), the
 * plugin's code and esbuild's version (read from its package.json: importing esbuild is part of
 * the cost the bundle cache saves). A cached bundle built under other settings is not used.
 */
function buildSettings(): string {
  if (settingsFingerprint === undefined) {
    const esbuildPackage = createRequire(import.meta.url).resolve('esbuild/package.json');
    const { version } = JSON.parse(readFileSync(esbuildPackage, 'utf8')) as { version: string };
    // Functions (the plugin's hooks) by their source text.
    const options = JSON.stringify(buildOptions('', '/'), (_key, value: unknown) =>
      typeof value === 'function' ? value.toString() : value,
    );
    settingsFingerprint = sha256Hex(`esbuild ${version}\0${options}`);
  }
  return settingsFingerprint;
}

/** The bundle of a job file and the absolute paths of the files that went into it. */
interface BuiltBundle {
  readonly bundle: JobBundle;
  readonly inputs: string[];
}

/** Runs esbuild on a job file (see {@link bundleJob}). */
async function buildBundle(jobPath: string): Promise<BuiltBundle> {
  const sourcePath = path.resolve(jobPath);
  const info = await stat(sourcePath).catch(() => undefined);
  if (info === undefined) throw new MrmError(ErrorCode.JobLoad, `job file '${jobPath}' does not exist`);
  if (!info.isFile()) throw new MrmError(ErrorCode.JobLoad, `job file '${jobPath}' is not a file`);
  // Paths inside the bundle (source map, comments) are relative to the job's folder, so the hash
  // does not depend on where mrm was started from; the source root points mapped stack frames
  // back at the real files.
  const workingDir = path.dirname(sourcePath);
  let code: string;
  let inputs: string[];
  try {
    // Loaded on first use: a run whose bundle is cached never loads esbuild.
    const { build } = await import('esbuild');
    const result = await build(buildOptions(sourcePath, workingDir));
    const output = result.outputFiles?.[0];
    if (output === undefined) throw new Error('esbuild produced no output');
    code = output.text;
    // Inputs of other namespaces (the CommonJS bridge to @mrm/*) are made by the plugin, not read.
    inputs = Object.keys(result.metafile?.inputs ?? {})
      .filter((name) => !name.startsWith(`${CJS_BRIDGE_NAMESPACE}:`))
      .map((name) => path.resolve(workingDir, name));
  } catch (error) {
    throw describeBuildError(error, jobPath, sourcePath, workingDir);
  }
  return { bundle: { code, hash: sha256Hex(code), sourcePath }, inputs };
}

/**
 * Bundles a job file into one ESM module with `@mrm/*` imports left as bare specifiers.
 * Throws {@link MrmError} `E_JOB_LOAD` when the file is missing or does not build
 * (`jobs/x.ts:12:5: <what esbuild says>`).
 */
export async function bundleJob(jobPath: string): Promise<JobBundle> {
  return (await buildBundle(jobPath)).bundle;
}

/**
 * {@link bundleJob} through a cache of bundles by job file in `buildCache` (see bundle-cache.ts):
 * the cached bundle when neither the job file, nor any file it imports, nor the build settings
 * changed; else a fresh one, which is then cached.
 */
export async function bundleJobCached(jobPath: string, buildCache: string): Promise<JobBundle> {
  const sourcePath = path.resolve(jobPath);
  const settings = buildSettings();
  const cached = await readCachedBundle(buildCache, sourcePath, settings);
  if (cached !== undefined) return cached;
  const started = Date.now();
  const { bundle, inputs } = await buildBundle(jobPath);
  const files = await hashBuildFiles(inputs, started);
  if (files !== undefined) await writeCachedBundle(buildCache, bundle, files, settings);
  return bundle;
}

/** Bare `@mrm/...` specifiers in `from '…'`, `import '…'` and `import('…')`. */
const FRAMEWORK_IMPORT = /(\bfrom\s*|\bimport\s*\(?\s*)(["'])(@mrm\/[^"'\s]+)\2/g;

/** The file URL of a framework module as this CLI resolves it (the copy that is running). */
function resolveFrameworkModule(specifier: string): string {
  try {
    return import.meta.resolve(specifier);
  } catch (error) {
    throw new MrmError(
      ErrorCode.JobLoad,
      `the job imports '${specifier}', which this mrm installation does not provide: ${firstLine(errorMessage(error))}`,
      { cause: error },
    );
  }
}

/** The bundle's code with every bare `@mrm/*` specifier replaced by the running framework's file URL. */
function linkToFramework(code: string): string {
  const resolved = new Map<string, string>();
  return code.replace(FRAMEWORK_IMPORT, (_match, lead: string, quote: string, specifier: string) => {
    let url = resolved.get(specifier);
    if (url === undefined) {
      url = resolveFrameworkModule(specifier);
      resolved.set(specifier, url);
    }
    return `${lead}${quote}${url}${quote}`;
  });
}

/**
 * Writes a bundle as `<dir>/<hash>.mjs`, its `@mrm/*` imports pointed at the framework copy that
 * runs this CLI, and returns the path. Atomic (temp file, then rename) and idempotent: an
 * existing file with the same content is left alone. One with other content (written by another
 * installation of mrm) is replaced, so the bundle never loads a stale framework.
 */
export async function materializeBundle(bundle: JobBundle, dir: string): Promise<string> {
  const target = path.join(dir, `${bundle.hash}.mjs`);
  const code = linkToFramework(bundle.code);
  const existing = await readFile(target, 'utf8').catch(() => undefined);
  if (existing === code) return target;
  await mkdir(dir, { recursive: true });
  const temp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(temp, code, { flush: true });
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new MrmError(ErrorCode.JobLoad, `cannot write job bundle '${target}': ${errorMessage(error)}`, {
      cause: error,
    });
  }
  return target;
}

/**
 * Imports a materialized bundle and validates its default export. `where` names the job in
 * messages. Throws `E_JOB_LOAD` when the module throws while loading, `E_JOB_INVALID` when its
 * default export is missing or not a valid job.
 */
export async function importJob(bundlePath: string, where: string): Promise<ResolvedJob> {
  let moduleNamespace: unknown;
  try {
    moduleNamespace = await import(pathToFileURL(bundlePath).href);
  } catch (error) {
    throw new MrmError(ErrorCode.JobLoad, `${where}: failed to load: ${firstLine(errorMessage(error))}`, {
      cause: error,
    });
  }
  return jobFromModule(moduleNamespace, where);
}

/** Options of {@link loadJob}. */
export interface LoadJobOptions {
  /** A folder caching bundles by job file (see {@link bundleJobCached}); absent: always bundle. */
  readonly buildCache?: string;
}

/** Bundles a job file (or takes its cached bundle), writes the bundle into `cacheDir` and imports it. */
export async function loadJob(jobPath: string, cacheDir: string, options: LoadJobOptions = {}): Promise<LoadedJob> {
  const bundle =
    options.buildCache !== undefined ? await bundleJobCached(jobPath, options.buildCache) : await bundleJob(jobPath);
  const bundlePath = await materializeBundle(bundle, cacheDir);
  const job = await importJob(bundlePath, jobPath);
  return { job, bundle, bundlePath, ref: { name: job.name, bundleHash: bundle.hash, bundlePath } };
}
