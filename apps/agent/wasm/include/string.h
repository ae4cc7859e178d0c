/* The freestanding WebAssembly build has no C library: what xxhash.h uses of <string.h>, as builtins
 * (the compiler emits WebAssembly's bulk memory instructions for them). */
#pragma once
#include <stddef.h>
#define memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define memset(d, v, n) __builtin_memset((d), (v), (n))
#define memcmp(a, b, n) __builtin_memcmp((a), (b), (n))
