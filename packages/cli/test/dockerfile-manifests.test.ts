/**
 * The Dockerfile copies every workspace's package.json before `npm ci` (so that a source edit
 * does not reinstall the dependencies): a workspace added to package.json must be added there too,
 * or `npm ci` in the image fails. `npm run test:compose` builds the image for real.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url);

describe('Dockerfile', () => {
  it("copies the manifest of every workspace before npm ci, and nothing of the sources' before it", () => {
    const { workspaces } = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { workspaces: string[] };
    const dockerfile = readFileSync(new URL('Dockerfile', ROOT), 'utf8');
    const beforeInstall = dockerfile.slice(0, dockerfile.indexOf('RUN npm ci'));
    const copied = [...beforeInstall.matchAll(/^COPY (\S+)\/package\.json \1\/$/gm)].map((m) => m[1]);
    expect(copied.sort()).toEqual([...workspaces].sort());
    expect(beforeInstall).not.toMatch(/^COPY \. /m);
    expect(dockerfile).not.toMatch(/^# syntax=|<</m);
  });
});
