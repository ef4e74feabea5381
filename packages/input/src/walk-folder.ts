import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isNotFound, unreadable } from './source-file.js';

/**
 * Paths (relative, `/`-separated, sorted) of the regular files under `folderAbs`, recursively.
 * Names beginning with '.' are skipped (editor swap files, `.git`, our own `.mrm` state). Symlinks
 * to files are followed; symlinks to folders are not, so a link cycle cannot loop forever.
 * Sockets, FIFOs and devices inside a folder are skipped: only the files are input.
 */
export async function walkFolder(folderAbs: string, displayPath: string): Promise<string[]> {
  const found: string[] = [];
  await walkInto(folderAbs, '', displayPath, found);
  // One global sort by the relative path, so the order is the same on every file system.
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function walkInto(dirAbs: string, rel: string, displayPath: string, found: string[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dirAbs, { withFileTypes: true });
  } catch (e) {
    throw unreadable(rel === '' ? displayPath : `${displayPath}/${rel}`, e);
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
    const childAbs = path.join(dirAbs, entry.name);
    if (entry.isDirectory()) {
      await walkInto(childAbs, childRel, displayPath, found);
    } else if (entry.isFile()) {
      found.push(childRel);
    } else if (entry.isSymbolicLink() && (await isFileTarget(childAbs))) {
      found.push(childRel);
    }
  }
}

async function isFileTarget(linkAbs: string): Promise<boolean> {
  try {
    return (await stat(linkAbs)).isFile();
  } catch (e) {
    if (isNotFound(e)) return false; // a dangling link is not an input
    throw e;
  }
}
