import { closeSync, fsyncSync, openSync, renameSync, writeSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';

/**
 * Replaces a file so that a crash or power cut leaves either the old or the new content, never
 * a mix: write a temporary file beside it, fsync it, rename it over the old one, fsync the
 * directory so the rename itself is durable.
 */
export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dir);
}

/** Removes a file durably (the directory entry is synced). */
export function removeFileDurably(path: string): void {
  rmSync(path, { force: true });
  syncDir(dirname(path));
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
