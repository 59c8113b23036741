# nncert — certified robustness radii for neural networks, at cluster scale.
#
#   make            build bin/nncert and lib/libnncert.a
#   make run        install what is missing, build, run the default job
#   make test       install what is missing, build, run the whole test suite
#   make bench      performance figures (one core; ranks vs ranks)
#   make zoo        train the large zoo models (deterministic, git-ignored)
#   make san        the same build with AddressSanitizer + UBSan (build-san/)
#   make fuzz       libFuzzer harnesses of the file loaders (clang, build-fuzz/)

CC      := mpicc
PKGS    := hdf5-serial libprotobuf-c plplot
# COIN-OR Cbc (and the Clp it brings) for the LP and MILP methods (doc/lp.md); its
# libraries go after OpenBLAS so that the engine's GEMMs never bind to another BLAS.
LP_PKGS := cbc
# -O3 vectorizes the element-wise loops (activations' lines, col2im, offsets:
# 1.1-1.35x on the CNNs). It never reorders a floating-point sum (no -ffast-math,
# and -std=c11 keeps contraction into FMAs off), so every bound keeps its bits.
CFLAGS  ?= -O3 -g
CFLAGS  += -std=c11 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
           -Iinclude -I$(BUILD)/gen $(shell pkg-config --cflags $(PKGS) $(LP_PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lopenblas -lcrypto -linih -lcjson -lz -lm \
           $(shell pkg-config --libs $(LP_PKGS) 2>/dev/null)
BUILD   ?= build
BIN     ?= bin
LIBDIR  ?= lib

# Sanitizer build: separate object, library and binary folders.
ifeq ($(SAN),1)
BUILD   := build-san
BIN     := build-san/bin
LIBDIR  := build-san/lib
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# ---- Fuzzing, part 1 of 2 (targets at the end; doc/testing.md "Fuzzing") ----
# FUZZ=1: the library built by clang with libFuzzer's coverage hooks and the
# sanitizers, in build-fuzz/. mpicc wraps whatever OMPI_CC names.
ifeq ($(FUZZ),1)
BUILD   := build-fuzz
BIN     := build-fuzz/bin
LIBDIR  := build-fuzz/lib
export OMPI_CC := clang-14
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

ONNX_PROTO := /usr/include/onnx/onnx.proto
GEN_C      := $(BUILD)/gen/onnx.pb-c.c
GEN_H      := $(BUILD)/gen/onnx.pb-c.h

LIB_SRC  := $(shell find src -name '*.c' ! -path 'src/cli/*' | sort)
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/onnx.pb-c.o
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
LIB      := $(LIBDIR)/libnncert.a
NNCERT   := $(BIN)/nncert

TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# MPI programs that tests/cli_*.sh start under mpirun (not run on their own)
MPI_TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(sort $(wildcard tests/mpi_*.c)))
# Cbc's libraries before Clp's: libClpSolver and libCbcSolver both hold the same
# parameter tables, and with ClpSolver's first Cbc_newModel crashes under ASan.
TEST_LIBS := $(shell pkg-config --libs cmocka $(LP_PKGS) 2>/dev/null)
BENCH_BIN := $(BUILD)/tools/bench/bench_engine

.PHONY: all deps run test test-unit san bench zoo clean FORCE
all: $(NNCERT) $(LIB) $(TEST_BIN) $(MPI_TEST_BIN) $(BENCH_BIN)

deps:
	@tools/install/install-deps.sh

$(GEN_C) $(GEN_H): $(ONNX_PROTO)
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen --proto_path=$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

# The git commit goes into every results file; version.h changes only when it does.
VERSION_H := $(BUILD)/gen/version.h
$(VERSION_H): FORCE
	@mkdir -p $(dir $@)
	@v=$$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown); \
	printf '#define NNCERT_GIT "%s"\n' "$$v" > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
FORCE:
$(BUILD)/src/io/results_h5.o: $(VERSION_H)

$(BUILD)/gen/onnx.pb-c.o: $(GEN_C)
	$(CC) $(filter-out -Wall -Wextra,$(CFLAGS)) -c $< -o $@

$(BUILD)/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(NNCERT): $(CLI_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(CLI_OBJ) $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c tests/support/blas_kernels.c $(LIB) $(wildcard tests/*.h) | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags cmocka $(LP_PKGS) 2>/dev/null) $(LDFLAGS) $< tests/support/blas_kernels.c \
		$(LIB) $(TEST_LIBS) $(LDLIBS) -o $@

$(BENCH_BIN): tools/bench/bench_engine.c $(LIB) | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

run: deps
	@$(MAKE) --no-print-directory all
	tools/run/run-default.sh

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SAN=1 all
	tests/run.sh

san:
	@$(MAKE) --no-print-directory SAN=1 all

bench: deps
	@$(MAKE) --no-print-directory all
	tools/bench/bench.sh

zoo: deps
	/usr/bin/python3 tools/models/train.py --large --out models/zoo

clean:
	rm -rf build build-san build-fuzz bin lib

# ---- Fuzzing, part 2 of 2: harnesses tests/fuzz/fuzz_*.c ----
# `make fuzz`: libFuzzer binaries build-fuzz/fuzz/fuzz_* (run them by hand,
# doc/testing.md). Every build also links each harness with a plain driver
# ($(BUILD)/fuzz/replay_fuzz_*) that tests/cli_fuzz_replay.sh runs on the
# committed corpora and crash reproducers, so no clang is needed for `make test`.
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/fuzz/%)
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/replay_%)
FUZZ_DEPS  := tests/fuzz/fuzz_util.h $(LIB) | $(GEN_H)
.PHONY: fuzz
all: $(REPLAY_BIN)

$(BUILD)/fuzz/replay_%: tests/fuzz/%.c tests/fuzz/replay_main.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< tests/fuzz/replay_main.c $(LIB) $(LDLIBS) -o $@

fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 $(FUZZ_BIN)

build-fuzz/fuzz/%: tests/fuzz/%.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer $< $(LIB) $(LDLIBS) -o $@

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
