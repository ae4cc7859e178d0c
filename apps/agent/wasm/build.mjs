#!/usr/bin/env node
// Compiles xxh128.c (XXH3's 128-bit hash, from xxHash 0.8.1's xxhash.h beside it) to WebAssembly
// twice, with 128-bit SIMD and without (for CPUs whose WebAssembly has none: V8 needs SSE4.1 on
// x86 for it), and writes both, base64, into src/engine/manifest/xxh128-wasm.ts, which is
// committed: building the agent needs no C compiler. Run it after changing a file here:
//
//   node wasm/build.mjs            (in apps/agent; needs clang and lld: Debian's clang and lld)
//   node wasm/build.mjs --check    (exit 1 when the committed file is not what these sources build)
//
// Freestanding: no C library (include/ holds the little of it xxhash.h asks for), no imports, one
// memory that never grows (so a view of it stays valid), the exports xxh128.c names.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const here = dirname(self);
const output = join(here, '..', 'src', 'engine', 'manifest', 'xxh128-wasm.ts');
const CLANG = process.env.CLANG ?? 'clang';

function compile(simd, file) {
  execFileSync(
    CLANG,
    [
      '--target=wasm32',
      '-std=c11',
      '-O3',
      ...(simd ? ['-msimd128'] : []),
      '-mbulk-memory',
      '-nostdlib',
      '-ffreestanding',
      `-I${join(here, 'include')}`,
      '-DXXH_VECTOR=0', // xxhash.h's own x86/ARM variants off: the SIMD one is the wasm branch
      '-Wl,--no-entry',
      '-Wl,--strip-all',
      '-o',
      file,
      join(here, 'xxh128.c'),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  return readFileSync(file).toString('base64');
}

/** The compiler's own name for itself (`clang --version`'s first line), which the output records. */
export function compilerVersion() {
  return execFileSync(CLANG, ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
}

/** xxHash's copyright notice, license and disclaimer, as xxhash.h opens with them. */
function xxhashNotice() {
  const header = readFileSync(join(here, 'xxhash.h'), 'utf8');
  const end = header.indexOf('*/');
  return header
    .slice(header.indexOf('/*') + 2, end)
    .replace(/^\n/, '')
    .trimEnd();
}

export function buildSource() {
  const work = mkdtempSync(join(tmpdir(), 'sms-xxh128-wasm-'));
  try {
    const version = compilerVersion();
    const simd = compile(true, join(work, 'simd.wasm'));
    const scalar = compile(false, join(work, 'scalar.wasm'));
    // "/*!": the bundler keeps this comment, so the bundle and the executable carry the notice that
    // xxHash's BSD license asks of a redistribution in binary form
    return `// Written by wasm/build.mjs from wasm/xxh128.c and wasm/xxhash.h (${version}): do not edit.
/*! The WebAssembly below is compiled from xxHash (wasm/xxhash.h):
${xxhashNotice()}
 */
/** xxh128 in WebAssembly with 128-bit SIMD. */
export const XXH128_SIMD_WASM =
  '${simd}';
/** The same without SIMD, for a CPU whose WebAssembly has none. */
export const XXH128_SCALAR_WASM =
  '${scalar}';
`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(self)) {
  const source = buildSource();
  if (process.argv.includes('--check')) {
    if (readFileSync(output, 'utf8') !== source) {
      console.error(`${output} is not what wasm/ builds: run 'node wasm/build.mjs' in apps/agent`);
      process.exit(1);
    }
    console.log(`${output} is what wasm/ builds`);
  } else {
    writeFileSync(output, source);
    console.log(`wrote ${output}`);
  }
}
