#!/usr/bin/python3
"""check_sources.py: fuzz/oss-fuzz/build.sh builds what Bazel builds.

Usage: check_sources.py BUILD_SH BAZELRC FILE...

Each FILE named <target>_deps is the genquery `//fuzz:<target>_deps` (fg_oss_fuzz_files in
fuzz/fuzz.bzl): deps(//fuzz:<target>) as BUILD text. For every fuzz target
Bazel knows, build.sh must list it with exactly the C sources of its
dependency closure (fuzz/replay_main.c aside: build.sh links the fuzzing
engine instead) and exactly the //third_party libraries it links. A rule of
the closure with copts, defines, includes or linkopts of its own that this
check does not know of fails too: build.sh would not pass them. The project
defines and -std of .bazelrc's `build` and `build:fuzz` lines must be in
build.sh's PROJECT_CFLAGS. One case per target; ends with "N passed, M failed".
"""
import os
import re
import subprocess
import sys

# //third_party libraries build.sh knows (its `libs` function).
KNOWN_LIBS = {"boringssl", "cyaml", "yaml", "idn2", "xxhash", "expat", "resolv"}
# Rules whose include paths build.sh passes through its dependency flags.
KNOWN_INCLUDES = {"@boringssl_headers//:headers": "boringssl"}
ENGINE_ONLY = {"fuzz/replay_main.c"}


class Select:
    """select({...}) in query output: every branch counts."""

    def __init__(self, branches):
        self.values = []
        for v in branches.values():
            self.values.extend(v)

    def __radd__(self, other):
        return list(other) + self.values

    def __add__(self, other):
        return self.values + list(other)


class Rules(dict):
    """The namespace query output is run in: each call NAME(...) is a rule."""

    def __init__(self):
        super().__init__()
        self.rules = []

    def __missing__(self, kind):
        if kind == "select":
            return Select

        def rule(**attrs):
            for k, v in attrs.items():
                if isinstance(v, Select):
                    attrs[k] = v.values
            attrs["kind"] = kind
            self.rules.append(attrs)

        return rule


def parse_rules(path):
    ns = Rules()
    exec(compile(open(path).read(), path, "exec"), {"__builtins__": {}}, ns)
    return ns.rules


def label_path(label):
    """//crypto:san.c -> crypto/san.c"""
    pkg, _, name = label[2:].partition(":")
    return "%s/%s" % (pkg, name) if pkg else name


def xml_parser_level(rule):
    """N for a copy of the XML parser (gateway/xml/xml_isa.bzl), else None."""
    copts = rule.get("copts") or []
    if "gateway/xml/xml_isa_rename.h" not in copts:
        return None
    for c in copts:
        m = re.match(r"-DFG_XML_ISA_LEVEL=(\d)$", str(c))
        if m:
            return m.group(1)
    return None


def expected(target, rules):
    """(C sources, third-party libs, problems) of one target's closure."""
    srcs, libs, problems = set(), set(), []
    dep_labels = set()
    for r in rules:
        dep_labels.update(r.get("deps", []))
    for lab in dep_labels:
        if lab.startswith("//third_party:"):
            name = lab.split(":", 1)[1]
            if name in KNOWN_LIBS:
                libs.add(name)
            else:
                problems.append("build.sh does not know the library %s" % lab)
    for r in rules:
        if r["kind"] not in ("cc_library", "cc_binary"):
            continue
        level = xml_parser_level(r)
        for s in r.get("srcs", []):
            if s.startswith("//") and s.endswith(".c"):
                p = label_path(s)
                if level:
                    srcs.add("%s@%s" % (p, level))  # build.sh's SRC@N
                elif p not in ENGINE_ONLY:
                    srcs.add(p)
            elif s.startswith("@"):
                problems.append("source outside the workspace: %s" % s)
        name = r["name"]
        third_party = ("//third_party:" + name) in dep_labels
        if r.get("includes"):
            known = [lab for lab in KNOWN_INCLUDES if lab.endswith("//:" + name) and lab in dep_labels]
            if not known:
                problems.append("rule %s has includes %s that build.sh does not pass" %
                                (name, r["includes"]))
        for attr in ("copts", "defines", "local_defines", "linkopts"):
            values = r.get(attr) or []
            if name == target or third_party:
                continue  # build.sh's CFLAGS/engine, and its dependency flags, stand in
            if attr == "linkopts" and list(values) == ["-lpthread"]:
                continue  # build.sh links every target with -lpthread
            if attr == "copts" and level:
                continue  # build.sh's compile gives SRC@N the copy's flags
            if values:
                problems.append("rule %s has %s %s that build.sh does not pass" %
                                (name, attr, values))
    return srcs, libs, problems


def bazelrc_flags(path):
    """-D and -std copts of the `build` and `build:fuzz` lines."""
    flags = set()
    for line in open(path):
        words = line.split()
        if not words or words[0] not in ("build", "build:fuzz"):
            continue
        for w in words[1:]:
            m = re.match(r"--copt=(-D\S+|-std=\S+)$", w)
            if m:
                flags.add(m.group(1))
    return flags


def main(argv):
    build_sh, bazelrc = argv[1], argv[2]
    deps_files = [f for f in argv[3:] if f.endswith("_deps")]
    out = subprocess.run(["bash", build_sh, "--list"], check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    listed, project_cflags = {}, set()
    for line in out.splitlines():
        w = line.split()
        if w[0] == "project_cflags":
            project_cflags = set(w[1:])
            continue
        libs = set() if w[2] == "-" else set(w[2].split(","))
        listed[w[0]] = (set(w[3:]), libs)

    passed = failed = 0
    bazel_targets = set()
    for f in sorted(deps_files):
        target = os.path.basename(f)[: -len("_deps")]
        bazel_targets.add(target)
        srcs, libs, problems = expected(target, parse_rules(f))
        if target not in listed:
            problems.append("not in build.sh")
        else:
            have_srcs, have_libs = listed[target]
            for s in sorted(srcs - have_srcs):
                problems.append("build.sh lacks the source %s" % s)
            for s in sorted(have_srcs - srcs):
                problems.append("build.sh compiles %s, which Bazel does not" % s)
            for lib in sorted(libs ^ have_libs):
                problems.append("libraries differ on %s (Bazel: %s, build.sh: %s)" %
                                (lib, sorted(libs), sorted(have_libs)))
        if problems:
            failed += 1
            print("FAIL %s" % target)
            for p in problems:
                print("  " + p)
        else:
            passed += 1
            print("ok   %s: %d sources, libraries %s" % (target, len(srcs), ",".join(sorted(libs))))
    for t in sorted(set(listed) - bazel_targets):
        failed += 1
        print("FAIL %s: in build.sh but not an fg_fuzz_target of //fuzz" % t)
    missing = bazelrc_flags(bazelrc) - project_cflags
    if missing:
        failed += 1
        print("FAIL .bazelrc flags missing from build.sh's PROJECT_CFLAGS: %s" %
              " ".join(sorted(missing)))
    if not deps_files:
        failed += 1
        print("FAIL no fuzz targets found")
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
