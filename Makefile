# nncert — certified robustness radii for neural networks, at cluster scale.
#
#   make            build bin/nncert and lib/libnncert.a
#   make run        install what is missing, build, run the default job
#   make test       install what is missing, build, run the whole test suite
#   make bench      performance figures (one core; ranks vs ranks)
#   make zoo        train the large zoo models (deterministic, git-ignored)
#   make san        the same build with AddressSanitizer + UBSan (build-san/)

CC      := mpicc
PKGS    := hdf5-serial libprotobuf-c plplot
# COIN-OR Cbc (and the Clp it brings) for the LP and MILP methods (doc/lp.md); its
# libraries go after OpenBLAS so that the engine's GEMMs never bind to another BLAS.
LP_PKGS := cbc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
           -Iinclude -I$(BUILD)/gen $(shell pkg-config --cflags $(PKGS) $(LP_PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lopenblas -lcrypto -linih -lz -lm \
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
# Cbc's libraries before Clp's: libClpSolver and libCbcSolver both hold the same
# parameter tables, and with ClpSolver's first Cbc_newModel crashes under ASan.
TEST_LIBS := $(shell pkg-config --libs cmocka $(LP_PKGS) 2>/dev/null)
BENCH_BIN := $(BUILD)/tools/bench/bench_engine

.PHONY: all deps run test test-unit san bench zoo clean FORCE
all: $(NNCERT) $(LIB) $(TEST_BIN) $(BENCH_BIN)

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

$(BUILD)/tests/%: tests/%.c $(LIB) $(wildcard tests/*.h) | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags cmocka $(LP_PKGS) 2>/dev/null) $(LDFLAGS) $< $(LIB) $(TEST_LIBS) $(LDLIBS) -o $@

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
	rm -rf build build-san bin lib

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
