import type { VerifyOptions } from '../verify.js';
import type { Tree } from './tree.js';

/**
 * One tree pair per counting rule, with the options that rule needs: the
 * cases every way of reaching a target (mounted, a manifest, ssh) must count
 * as the mounted target does.
 */
export const RULE_CASES: [string, Tree, Tree, Partial<VerifyOptions>?][] = [
  ['identical trees', { a: '1', b: { c: '2', e: '' } }, { a: '1', b: { c: '2', e: '' } }],
  ['changed bytes of equal size', { data: 'AAAA-1234' }, { data: 'AAAA-1235' }],
  [
    'missing and extra files and subtrees',
    { keep: 'k', gone: 'g', lost: { a: '1', b: { c: '2' } } },
    { keep: 'k', added: 'x', more: { e: '4', f: { g: '5' } } },
  ],
  [
    'file against directory, both ways',
    { node: 'file', dir: { a: '1', b: '2' } },
    { node: { inner: '1', deep: { x: '2' } }, dir: 'file' },
  ],
  [
    'symbolic links',
    { real: 'r', link: { link: 'real' }, same: { link: '/x' } },
    { real: 'r', link: { link: 'other' }, same: { link: '/x' } },
  ],
  ['FIFOs', { pipe: { fifo: true }, p2: { fifo: true } }, { pipe: { fifo: true }, p2: 'now a file' }],
  ['a name with a newline and empty directories', { 'line\nbreak': 'x', e: {} }, { e: {}, f: {} }],
  [
    'excludes on both sides',
    { 'a.log': 'l', keep: 'k', cache: { x: '1' } },
    { 'b.log': 'o', keep: 'k', cache: { y: '2' } },
    { excludes: ['*.log', 'cache/'] },
  ],
  [
    'several --dir, one nested, one missing at the target',
    { a: { x: '1', in: { y: '2' } }, b: { z: '3' }, c: { w: '4' } },
    { a: { x: '1', in: {} }, c: { w: '44' } },
    { dirs: ['c', 'a/in', 'a', 'b'] },
  ],
];
