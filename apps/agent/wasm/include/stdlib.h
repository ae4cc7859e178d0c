/* xxhash.h's state allocation (XXH3_createState), which xxh128.c does not use: its state is static. */
#pragma once
#include <stddef.h>
static inline void *malloc(size_t n) { (void)n; return 0; }
static inline void free(void *p) { (void)p; }
