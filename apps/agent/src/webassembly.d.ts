// The part of the WebAssembly JavaScript API the agent uses (xxh128: engine/manifest/hash.ts), which
// TypeScript declares only in its DOM library, not loaded in this Node.js package.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: object);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
  }
  function validate(bytes: Uint8Array): boolean;
}
