// libFuzzer's driver, for an executable that has its own `main` (SwiftPM
// names every executable's entry point, so libFuzzer's `main` cannot be it).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
