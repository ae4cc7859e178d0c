import { execFileSync } from 'node:child_process';
import { lutimesSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A file's content, a directory, a symbolic link or a FIFO. */
export type Node = string | Buffer | { link: string } | { fifo: true } | Tree;
export interface Tree {
  [name: string]: Node;
}

/** A fixed modification time, so that a source and its copy match in quick mode. */
export const MTIME = new Date('2026-01-02T03:04:05Z');

function isTree(node: Node): node is Tree {
  return typeof node === 'object' && !Buffer.isBuffer(node) && !('link' in node) && !('fifo' in node);
}

export function writeTree(root: string | Buffer, tree: Tree, mtime = MTIME): void {
  mkdirSync(root, { recursive: true });
  for (const [name, node] of Object.entries(tree)) {
    const path: string | Buffer =
      typeof root === 'string' ? join(root, name) : Buffer.concat([root, Buffer.from(`/${name}`)]);
    if (isTree(node)) {
      writeTree(path, node, mtime);
    } else if (typeof node === 'string' || Buffer.isBuffer(node)) {
      writeFileSync(path, node);
      utimesSync(path, mtime, mtime);
    } else if ('link' in node) {
      symlinkSync((node as { link: string }).link, path);
      lutimesSync(path, mtime, mtime);
    } else {
      execFileSync('mkfifo', [path.toString()]);
    }
  }
}

/** A temporary pair of trees, `src` and `dst`, removed by `cleanup`. */
export function treePair(source: Tree, target: Tree | undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'sms-agent-'));
  const src = join(dir, 'src');
  const dst = join(dir, 'dst');
  writeTree(src, source);
  if (target) writeTree(dst, target);
  return { dir, src, dst, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
