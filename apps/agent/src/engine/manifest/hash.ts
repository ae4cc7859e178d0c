import { crypto } from '../../builtins.js';
import { XXH128_SCALAR_WASM, XXH128_SIMD_WASM } from './xxh128-wasm.js';

/**
 * The hashes a manifest records of its files' content (content mode):
 * - `xxh128` (the default): XXH3's 128-bit hash, as rsync 3.2's `--checksum` uses; xxHash's own C
 *   compiled to WebAssembly with 128-bit SIMD (wasm/, bundled), about 12 GB/s per core here, the
 *   bytes read straight into its memory. It finds any accidental change (a copy cut short, a
 *   flipped bit) with a chance of missing one of 2^-128, but a person who can write the target
 *   could make a different file with the same hash.
 * - `sha256`: strong against that too; about 1.8 GB/s per core here (the SHA extensions of
 *   current x86 and ARM CPUs, in Node's OpenSSL).
 */
export const MANIFEST_HASHES = ['xxh128', 'sha256'] as const;
export type ManifestHash = (typeof MANIFEST_HASHES)[number];
export const DEFAULT_MANIFEST_HASH: ManifestHash = 'xxh128';
/** Hex digits of each hash. */
export const HASH_HEX_LENGTH: Record<ManifestHash, number> = { xxh128: 32, sha256: 64 };

/** A file's hash, fed a chunk at a time: read each chunk into `input`, then `take` it. */
export interface Digest {
  /** Where to read the next chunk (xxh128: its WebAssembly memory, hashed where it lies). */
  readonly input: Uint8Array;
  /** Hashes the first `n` bytes of `input`. */
  take(n: number): void;
  /** Lowercase hex. */
  digest(): string;
}

interface Xxh128Exports {
  memory: WebAssembly.Memory;
  input(): number;
  input_size(): number;
  digest(): number;
  init(): void;
  update(n: number): void;
  final(): void;
}

/** xxh128's WebAssembly, with SIMD where this CPU's WebAssembly has it (compiled once per thread). */
let xxh128Module: WebAssembly.Module | undefined;

/** The module's bytes, with SIMD or without. */
const xxh128Bytes = (simd: boolean) => Buffer.from(simd ? XXH128_SIMD_WASM : XXH128_SCALAR_WASM, 'base64');

/** Whether this thread's xxh128 uses SIMD (`false`: the CPU's WebAssembly has none). */
export function xxh128UsesSimd(): boolean {
  return WebAssembly.validate(xxh128Bytes(true));
}

/** One xxh128 instance: its own memory, input buffer and state. `simd: false` for tests. */
export function xxh128Hasher(simd?: boolean): Digest & { reset(): void } {
  if (simd === undefined) xxh128Module ??= new WebAssembly.Module(xxh128Bytes(xxh128UsesSimd()));
  const module = simd === undefined ? xxh128Module! : new WebAssembly.Module(xxh128Bytes(simd));
  const wasm = new WebAssembly.Instance(module).exports as unknown as Xxh128Exports;
  // the memory never grows (no allocation in the module), so these views stay valid
  const input = Buffer.from(wasm.memory.buffer, wasm.input(), wasm.input_size());
  const digest = Buffer.from(wasm.memory.buffer, wasm.digest(), 16);
  wasm.init();
  return {
    input,
    reset: () => wasm.init(),
    take: (n) => wasm.update(n),
    digest: () => {
      wasm.final();
      const hex = digest.toString('hex');
      wasm.init();
      return hex;
    },
  };
}

/** This thread's xxh128 (made once, ready for the next file after each `digest`). */
let xxh128: ReturnType<typeof xxh128Hasher> | undefined;

/** Makes `algorithm` ready to use in this thread (xxh128's WebAssembly is compiled once). */
export async function loadHash(algorithm: ManifestHash): Promise<void> {
  if (algorithm === 'xxh128') xxh128 ??= xxh128Hasher();
}

/**
 * A digest of `algorithm`, loaded by `loadHash`; sha256 reads its chunks into `buffer`. xxh128 is
 * one instance per thread: hash one file at a time with it (synchronously), or use `ownDigest` for
 * a digest that may wait between chunks.
 */
export function newDigest(algorithm: ManifestHash, buffer: Uint8Array): Digest {
  if (algorithm === 'sha256') {
    const hash = crypto().createHash('sha256');
    return {
      input: buffer,
      take: (n) => {
        hash.update(buffer.subarray(0, n));
      },
      digest: () => hash.digest('hex'),
    };
  }
  if (!xxh128) throw new Error('xxh128 was not loaded (loadHash) in this thread');
  xxh128.reset(); // what an earlier file left (an error mid-file) is discarded
  return xxh128;
}

/** xxh128 instances whose last file was digested, for `ownDigest` to use again. */
const spare: ReturnType<typeof xxh128Hasher>[] = [];

/**
 * A digest of its own (for reads that wait between chunks, while other files may be hashed; sha256
 * reads its chunks into `buffer`, which must then be this file's alone).
 */
export async function ownDigest(algorithm: ManifestHash, buffer: Uint8Array): Promise<Digest> {
  if (algorithm !== 'xxh128') return newDigest(algorithm, buffer);
  const hasher = spare.pop() ?? xxh128Hasher();
  hasher.reset();
  return {
    input: hasher.input,
    take: hasher.take,
    digest: () => {
      const hex = hasher.digest();
      if (spare.length < 16) spare.push(hasher);
      return hex;
    },
  };
}
