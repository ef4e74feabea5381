/**
 * The dashboard's files, shipped in the package (`packages/cli/dashboard/`) and read once at
 * start: a page, a script and a style sheet that need nothing from the internet.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { HttpReply } from './http-server.js';

/** Folder of the dashboard files (from `dist/ops/` or `src/ops/`). */
const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/** The dashboard, ready to serve. */
export interface DashboardAssets {
  readonly index: HttpReply;
  readonly script: HttpReply;
  readonly style: HttpReply;
}

/** Reads the dashboard files. */
export async function loadDashboardAssets(): Promise<DashboardAssets> {
  const read = async (file: string, contentType: string): Promise<HttpReply> => ({
    contentType,
    body: await readFile(`${DASHBOARD_DIR}${file}`, 'utf8'),
  });
  return {
    index: await read('index.html', 'text/html; charset=utf-8'),
    script: await read('dashboard.js', 'text/javascript; charset=utf-8'),
    style: await read('dashboard.css', 'text/css; charset=utf-8'),
  };
}
