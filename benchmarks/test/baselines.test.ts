import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NatsServerHandle, runProcess, startNatsServer } from '@mrm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MRM = join(ROOT, 'packages', 'cli', 'bin', 'mrm.js');
const BOOKS = join(ROOT, 'examples', 'wordcount', 'data');
const LOGS = join(ROOT, 'examples', 'access-logs', 'data');
const WORDCOUNT = join(ROOT, 'examples', 'wordcount', 'job.ts');
const TOP_URLS = join(ROOT, 'examples', 'access-logs', 'top-urls.ts');
const PLAIN = join(ROOT, 'benchmarks', 'test', 'fixtures', 'bytes-by-status.ts');
/** Small splits and sort buffers, so one small input makes many map tasks, spills and merge passes. */
const SMALL = ['--split-mb', '0.05', '--sort-mb', '0.01', '--reducers', '2'];

async function mrm(args: readonly string[]): Promise<string> {
  const { code, stderr } = await runProcess(process.execPath, [MRM, ...args], { cwd: ROOT });
  expect(code, stderr).toBe(0);
  return stderr;
}

// Each case starts a dozen node processes; on a loaded 2-core machine that takes a while.
describe('the baselines', { timeout: 180_000 }, () => {
  let dir: string;
  let nats: NatsServerHandle;
  let n = 0;
  const fresh = () => join(dir, `f${n++}`);
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mrm-baselines-test-'));
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `mrm run`'s result of `job` over `inputs` (one run per list, on one state), as text. */
  async function mrmResult(job: string, runs: ReadonlyArray<readonly string[]>): Promise<string> {
    const state = fresh();
    const out = fresh();
    for (const inputs of runs) await mrm(['run', job, '--input', ...inputs, '--state', state, '--out', out, '-q']);
    return readFileSync(out, 'utf8');
  }

  /** A baseline's result of the same runs on one state dir, as text. */
  async function baselineResult(
    kind: string,
    job: string,
    runs: ReadonlyArray<readonly string[]>,
    extra: readonly string[],
  ) {
    const state = fresh();
    const out = fresh();
    let summary = '';
    for (const inputs of runs)
      summary = await mrm([
        'baseline',
        kind,
        job,
        '--input',
        ...inputs,
        '--state',
        state,
        '--out',
        out,
        '-q',
        ...extra,
      ]);
    return { text: readFileSync(out, 'utf8'), summary };
  }

  it('word count: both baselines equal mrm run key for key (hadoop over several splits, spills and merge passes)', async () => {
    const runs = [[join(BOOKS, 'pg-being_ernest.txt')]];
    const expected = await mrmResult(WORDCOUNT, runs);
    const hadoop = await baselineResult('hadoop', WORDCOUNT, runs, SMALL);
    expect(hadoop.summary).toMatch(/3,\d{3} records from 1 files, 3,419 keys, 3 map \+ 2 reduce tasks, \d\d+ spills/);
    expect(hadoop.text).toBe(expected);
    const records = await baselineResult('records', WORDCOUNT, runs, ['--nats', nats.url]);
    expect(records.summary).toMatch(/pairs acked one by one/);
    expect(records.text).toBe(expected);
    expect(expected.split('\n').length).toBe(3_420);
  });

  it('an incremental access-log job: recomputing everything seen (hadoop) and applying pairs (records) equal mrm run merging increments', async () => {
    const runs = [
      [join(LOGS, 'nginx', 'meatlabel.app.access.log-20251224')],
      [join(LOGS, 'nginx', 'meatlabel.app.access.log-20251227')],
    ];
    const expected = await mrmResult(TOP_URLS, runs);
    const hadoop = await baselineResult('hadoop', TOP_URLS, runs, SMALL);
    expect(hadoop.summary).toMatch(/from 2 files/);
    expect(hadoop.text).toBe(expected);
    expect((await baselineResult('records', TOP_URLS, runs, ['--nats', nats.url])).text).toBe(expected);
    expect(expected).toContain('"top-urls"');
  });

  it('a job without merge (reduce over all values): both baselines equal mrm run', async () => {
    const runs = [[join(LOGS, 'nginx', 'meatlabel.app.access.log-20251225')]];
    const expected = await mrmResult(PLAIN, runs);
    expect((await baselineResult('hadoop', PLAIN, runs, SMALL)).text).toBe(expected);
    expect((await baselineResult('records', PLAIN, runs, ['--nats', nats.url])).text).toBe(expected);
    expect(expected).toContain('"median"');
  });

  it('says in one line what is wrong with a bad option', async () => {
    const bad = await runProcess(
      process.execPath,
      [MRM, 'baseline', 'hadoop', WORDCOUNT, '--input', BOOKS, '--reducers', '0'],
      { cwd: ROOT },
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(2);
    expect(bad.stderr).toMatch(/--reducers/);
  });
});
