// hash-wasm ships one module per algorithm, without types of their own: they are the index's
declare module 'hash-wasm/dist/xxhash128.umd.min.js' {
  export { createXXHash128, xxhash128 } from 'hash-wasm';
}
