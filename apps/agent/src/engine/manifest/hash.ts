import type { IHasher } from 'hash-wasm';
// xxh128's module alone: the package's index bundles every algorithm's WebAssembly (270 KB more)
import { createXXHash128 } from 'hash-wasm/dist/xxhash128.umd.min.js';
import { crypto } from '../../builtins.js';

/**
 * The hashes a manifest records of its files' content (content mode):
 * - `xxh128` (the default): XXH3's 128-bit hash, as rsync 3.2's `--checksum` uses; in
 *   WebAssembly (hash-wasm, bundled), about 7 GB/s per core here, four times SHA-256. It finds any
 *   accidental change (a copy cut short, a flipped bit) with a chance of missing one of 2^-128,
 *   but a person who can write the target could make a different file with the same hash.
 * - `sha256`: strong against that too; about 1.8 GB/s per core here (the SHA extensions of
 *   current x86 and ARM CPUs, in Node's OpenSSL).
 */
export const MANIFEST_HASHES = ['xxh128', 'sha256'] as const;
export type ManifestHash = (typeof MANIFEST_HASHES)[number];
export const DEFAULT_MANIFEST_HASH: ManifestHash = 'xxh128';
/** Hex digits of each hash. */
export const HASH_HEX_LENGTH: Record<ManifestHash, number> = { xxh128: 32, sha256: 64 };

export interface Digest {
  update(data: Uint8Array): void;
  /** Lowercase hex. */
  digest(): string;
}

/** This thread's xxh128 (a WebAssembly instance: made once, reset for each file). */
let xxh128: IHasher | undefined;

/** Makes `algorithm` ready to use in this thread (xxh128's WebAssembly is compiled once). */
export async function loadHash(algorithm: ManifestHash): Promise<void> {
  if (algorithm === 'xxh128') xxh128 ??= await createXXHash128();
}

/**
 * A digest of `algorithm`, loaded by `loadHash`. xxh128 is one instance per thread: hash one file
 * at a time with it (synchronously), or give `own` for a digest that may wait between chunks.
 */
export function newDigest(algorithm: ManifestHash, own?: IHasher): Digest {
  if (algorithm === 'sha256') {
    const hash = crypto().createHash('sha256');
    return {
      update: (data) => {
        hash.update(data);
      },
      digest: () => hash.digest('hex'),
    };
  }
  const hasher = own ?? xxh128;
  if (!hasher) throw new Error('xxh128 was not loaded (loadHash) in this thread');
  hasher.init();
  return {
    update: (data) => {
      hasher.update(data);
    },
    digest: () => hasher.digest('hex'),
  };
}

/** A digest of its own (for reads that wait between chunks, while other files may be hashed). */
export async function ownDigest(algorithm: ManifestHash): Promise<Digest> {
  return algorithm === 'xxh128' ? newDigest(algorithm, await createXXHash128()) : newDigest(algorithm);
}
