# fedgate front door. Every target installs missing Debian packages first.
# The two commands a newcomer needs: `make demo` and `make test`.

BAZEL ?= bazel
FUZZ_SECONDS ?= 60
FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

.PHONY: all deps build test test-asan demo interop fuzz bench bench-quick bench-scale bench-perf fmt fmt-check clean install deb faults soak

all: build

deps:
	@tools/deps.sh
	@# Convenience links of older checkouts (.bazelrc now puts them under .bazel/).
	@find . -maxdepth 1 -type l -name 'bazel-*' -delete

build: deps
	$(BAZEL) build //...

test: deps
	@tools/run-tests.sh

# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc]: the opt
# build's binary (-O3, link-time optimisation: what bench/ measures) as PREFIX/sbin/fedgate, the systemd unit, the configuration
# (kept when present), contrib/ and the docs (tools/install.sh). Then, as
# root: PREFIX/lib/fedgate/fedgate-setup (user, secret, internal CA).
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
install: deps
	$(BAZEL) build --config=opt //gateway:fedgate
	@PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" SYSCONFDIR="$(SYSCONFDIR)" \
	  tools/install.sh "$$($(BAZEL) info --config=opt bazel-bin)/gateway/fedgate"

# make deb: dist/fedgate_VERSION_ARCH.deb (tools/deb.sh) of the opt build;
# the last line printed is its path.
deb: deps
	$(BAZEL) build --config=opt //gateway:fedgate
	@tools/deb.sh "$$($(BAZEL) info --config=opt bazel-bin)/gateway/fedgate"

test-asan: deps
	@tools/run-tests.sh --config=asan

# kTLS proven in a qemu guest running Debian's kernel (docs/ktls-vm.md).
# Exit 77: qemu or the kernel package cannot be had.
.PHONY: test-ktls
test-ktls: deps
	@BAZEL="$(BAZEL)" tools/ktls-vm/run.sh

demo: deps
	@tools/demo.sh

# Prosody a.test -> fedgate A -> fedgate B -> Prosody b.test (also in make test).
interop: deps
	$(BAZEL) build //gateway:fedgate
	@/usr/bin/python3 tests/e2e/interop_test.py "$$($(BAZEL) info bazel-bin)/gateway/fedgate"

# Fault injection between two gateways (also in make test): the last line is
# "N passed, M failed" (tests/e2e/faults_test.py, docs/stream-management.md).
faults: deps
	$(BAZEL) build //gateway:fedgate
	@/usr/bin/python3 tests/e2e/faults_test.py "$$($(BAZEL) info bazel-bin)/gateway/fedgate"

# The same scenarios at random for SOAK_SECONDS (default 30 minutes), with
# the counts of each printed; ends with "N passed, M failed".
SOAK_SECONDS ?= 1800
soak: deps
	$(BAZEL) build //gateway:fedgate
	@/usr/bin/python3 tests/e2e/faults_test.py "$$($(BAZEL) info bazel-bin)/gateway/fedgate" --soak $(SOAK_SECONDS)

fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh

# fedgate vs Prosody vs HAProxy side by side, plus the micro-benchmarks:
# bench/results/<date>-<host>.json, bench/RESULTS.md, bench/plots/.
bench: deps
	@tools/bench.sh

# The same, shorter (1 s runs, fewer sizes and points; a few minutes; results
# under bench/results/ only).
bench-quick: deps
	@tools/bench.sh --quick

# As many idle authenticated s2s streams through one fedgate as the machine
# allows, each answering a final stanza: bench/results/scale-<date>-<host>.json.
bench-scale: deps
	@tools/bench-opt.sh scale

# Where each system under test spends its CPU (Linux perf): relay, fedgate's
# establishments, the XML parser;
# regenerates bench/PERF.md.
bench-perf: deps
	@tools/bench-opt.sh perf_breakdown

fmt: deps
	clang-format -i $(FORMAT_FILES)

fmt-check: deps
	@bad=0; for f in $(FORMAT_FILES); do \
	  clang-format --dry-run --Werror "$$f" >/dev/null 2>&1 || { echo "needs formatting: $$f"; bad=1; }; \
	done; \
	if [ $$bad = 0 ]; then echo "format: clean"; else echo "run 'make fmt'"; exit 1; fi

clean:
	$(BAZEL) clean

# Line and branch coverage of the parsers by the committed fuzz corpora
# (clang-14 source-based coverage; tools/fuzz-coverage.sh).
.PHONY: fuzz-coverage
fuzz-coverage: deps
	@tools/fuzz-coverage.sh
