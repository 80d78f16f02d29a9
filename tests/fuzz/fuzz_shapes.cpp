// libFuzzer target 'shapes': see tests/fuzz/fuzz_targets.h for what it feeds and checks; scripts/fuzz.sh runs it.
#include "fuzz_targets.h"

ATTN_FUZZ_TARGET(check_shapes)
