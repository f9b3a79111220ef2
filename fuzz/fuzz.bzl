"""fg_fuzz_target: one libFuzzer target plus a corpus replay test.

Under `--config=fuzz` (which sets --define=fuzzing=1) the binary links
libFuzzer; otherwise it links fuzz/replay_main.c, which runs every file of the
given corpus directories through LLVMFuzzerTestOneInput once. `make test` runs
the `<name>_replay` tests, so every seed stays a regression test.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_test")

def fg_fuzz_target(name, srcs, deps = [], corpus = None, data = []):
    corpus = corpus or ("corpus/" + name)
    cc_binary(
        name = name,
        srcs = srcs,
        deps = deps + select({
            "//fuzz:fuzzing": [],
            "//conditions:default": ["//fuzz:replay_main"],
        }),
        linkopts = select({
            "//fuzz:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        copts = select({
            "//fuzz:fuzzing": ["-fsanitize=fuzzer-no-link"],
            "//conditions:default": [],
        }),
        data = data,
    )
    cc_test(
        name = name + "_replay",
        srcs = srcs,
        deps = deps + ["//fuzz:replay_main"],
        args = ["fuzz/" + corpus],
        data = native.glob([corpus + "/**"]) + data,
        size = "small",
    )
