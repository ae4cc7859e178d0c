/* xxhash.h's assertions are off (XXH_DEBUGLEVEL 0); its static assertions are C11's. */
#pragma once
#define assert(x) ((void)0)
#define static_assert _Static_assert
