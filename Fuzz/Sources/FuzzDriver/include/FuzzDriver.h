// libFuzzer's entry for programs with their own main(): SwiftPM gives every executable a
// Swift main, so each harness's main.swift hands control to libFuzzer through this call.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
