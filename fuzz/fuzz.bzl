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

def fg_oss_fuzz_files(name):
    """Collects what fuzz/oss-fuzz's tests need, for every fg_fuzz_target so far.

    Call it last in fuzz/BUILD.bazel. For each target it adds a genquery
    `<target>_deps` (the target's dependencies as BUILD text, which
    //fuzz/oss-fuzz:sources_test compares with fuzz/oss-fuzz/build.sh) and puts
    those, the targets themselves (so that the tests rerun when a source
    changes), the corpora and the dictionaries into the filegroup |name|.
    """
    targets = sorted([
        r["name"]
        for r in native.existing_rules().values()
        if r.get("generator_function") == "fg_fuzz_target" and r["kind"] == "cc_binary"
    ])
    for t in targets:
        native.genquery(
            name = t + "_deps",
            expression = "deps(//fuzz:%s)" % t,
            opts = [
                "--output=build",
                "--noimplicit_deps",
            ],
            scope = [":" + t],
        )
    native.filegroup(
        name = name,
        srcs = [t + "_deps" for t in targets] + [":" + t for t in targets] +
               native.glob(["corpus/**", "*.dict"]),
    )
