/*
 * XXH3's 128-bit hash (xxh128, what `rsync --checksum` uses) for sms-agent's manifests, compiled to
 * WebAssembly by build.mjs. The hashed bytes are read straight into `input` (the file's read lands
 * in this module's memory) and hashed where they lie: no copy in JavaScript.
 *
 *   init(); then, for each chunk read into input(), update(n); then final() puts the hash,
 *   canonical (big-endian, as `xxh128sum` prints it), at digest().
 */
#define XXH_INLINE_ALL
#include "xxhash.h"

#define INPUT_SIZE (256 * 1024)

static XXH3_state_t state;
static unsigned char input_buffer[INPUT_SIZE] __attribute__((aligned(64)));
static XXH128_canonical_t canonical;

__attribute__((export_name("input"))) unsigned char *input(void) { return input_buffer; }
__attribute__((export_name("input_size"))) unsigned int input_size(void) { return INPUT_SIZE; }
__attribute__((export_name("digest"))) unsigned char *digest(void) { return canonical.digest; }
__attribute__((export_name("init"))) void init(void) { XXH3_128bits_reset(&state); }

__attribute__((export_name("update"))) void update(unsigned int n) {
  XXH3_128bits_update(&state, input_buffer, n < INPUT_SIZE ? n : INPUT_SIZE);
}

__attribute__((export_name("final"))) void final(void) {
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(&state));
}
