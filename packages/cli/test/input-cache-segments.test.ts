/**
 * A map worker's input cache on an endless stream: only the newest MAX_CACHED_SEGMENTS segment
 * files stay on disk, and a segment let go is fetched again, with the same bytes, when asked for.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus, MemoryStreamLog } from '@mrm/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { InputCache, MAX_CACHED_SEGMENTS } from '../src/cluster/input-shipping.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('InputCache and stream segments', () => {
  it('keeps the newest segment files only, and fetches an older one again when asked', async () => {
    dir = mkdtempSync(join(tmpdir(), 'mrm-input-cache-'));
    const streams = new MemoryStreamLog();
    const enc = new TextEncoder();
    const segments = MAX_CACHED_SEGMENTS + 10;
    await streams.append(
      's',
      Array.from({ length: 2 * segments }, (_, i) => enc.encode(`record ${i + 1}`)),
    );
    const cache = new InputCache(MemoryBus.create().connect(), dir, streams);
    const first = await cache.path('stream:s:1-2');
    expect(readFileSync(first, 'utf8')).toBe('record 1\nrecord 2\n');
    for (let s = 1; s < segments; s++) await cache.path(`stream:s:${2 * s + 1}-${2 * s + 2}`);
    // Deletions run beside the fetches: give them a moment.
    for (let i = 0; i < 200 && readdirSync(join(dir, 'streams')).length > MAX_CACHED_SEGMENTS; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(readdirSync(join(dir, 'streams'))).toHaveLength(MAX_CACHED_SEGMENTS);
    expect(readdirSync(join(dir, 'streams'))).not.toContain('s-1-2.lines');
    expect(readFileSync(await cache.path('stream:s:1-2'), 'utf8')).toBe('record 1\nrecord 2\n');
  });
});
