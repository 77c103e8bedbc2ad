# Casella build.  `make` builds build/casellad and build/casella;
# `make check` builds with ASan+UBSan and runs every test; `make run`
# serves IMAP on 127.0.0.1:1143 from ./run-data.  See README.md.

CC ?= cc
MAKEFLAGS += --no-print-directory
CFLAGS_COMMON = -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wformat=2 -Wshadow \
	-Wvla -Wmissing-prototypes -Wno-unused-parameter -Isrc -Isrc/lib -pthread
CFLAGS ?= -O2 -g
LIBS = -lsqlite3 -lcrypt -lssl -lcrypto -lgssapi_krb5 -lkrb5 -ljansson \
	-lcurl -pthread
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
WERROR ?=
ifdef CI
WERROR = -Werror
endif

# Debian packages the build and the tests need; `make deps` installs the
# missing ones (as root).
BUILD_PKGS = gcc make libsqlite3-dev libssl-dev libcrypt-dev pkg-config \
	libkrb5-dev libjansson-dev libcurl4-openssl-dev
TEST_PKGS = python3 python3-pytest curl isync neomutt tmux clang libclang-rt-14-dev swaks \
	gsasl libsasl2-modules libsasl2-modules-otp fetchmail openssl \
	krb5-kdc krb5-admin-server krb5-user python3-gssapi python3-jwt \
	python3-cryptography util-linux

MAIN_SRCS = src/casellad.c src/casella.c
LIB_SRCS = $(filter-out $(MAIN_SRCS),$(sort $(wildcard src/*.c src/*/*.c)))
UNIT_SRCS = $(sort $(wildcard tests/unit/test-*.c))
FUZZ_SRCS = $(sort $(wildcard tests/fuzz/fuzz-*.c))

BUILD = build
ASAN = build/asan

LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
ASAN_LIB_OBJS = $(LIB_SRCS:%.c=$(ASAN)/obj/%.o)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(ASAN)/%)
FUZZ_BINS = $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)

.PHONY: all deps test-deps check unit unit-kdc proto fuzz-replay fuzz run clean format

all: $(BUILD)/casellad $(BUILD)/casella

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(WERROR) $(CFLAGS) -MMD -MP -c $< -o $@

$(ASAN)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(WERROR) $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/casellad: $(BUILD)/obj/src/casellad.o $(LIB_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/casella: $(BUILD)/obj/src/casella.o $(LIB_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(ASAN)/casellad: $(ASAN)/obj/src/casellad.o $(ASAN_LIB_OBJS)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)
$(ASAN)/casella: $(ASAN)/obj/src/casella.o $(ASAN_LIB_OBJS)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

$(ASAN)/test-%: $(ASAN)/obj/tests/unit/test-%.o $(ASAN)/obj/tests/unit/test.o $(ASAN_LIB_OBJS)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

# libFuzzer targets need clang.
build/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	clang $(CFLAGS_COMMON) -g -O1 -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(LIB_SRCS) $(LIBS)

deps:
	@sh tools/install-deps.sh $(BUILD_PKGS)

test-deps:
	@sh tools/install-deps.sh $(BUILD_PKGS) $(TEST_PKGS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do ./$$t; done

# GSSAPI against a real (throwaway) KDC: tools/unit-kdc.sh.
unit-kdc: $(ASAN)/test-gssapi
	@sh tools/unit-kdc.sh ./$(ASAN)/test-gssapi

fuzz: $(FUZZ_BINS)

# Replays each fuzzer's corpus once, so crashes found before stay fixed.
fuzz-replay: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
		n=$$(basename $$f); \
		./$$f -runs=0 tests/fuzz/corpus/$$n >/dev/null 2>&1 || \
			{ echo "fuzz replay failed: $$n"; ./$$f -runs=0 tests/fuzz/corpus/$$n; exit 1; }; \
		echo "ok   fuzz replay $$n"; \
	done

proto: $(ASAN)/casellad $(ASAN)/casella
	CASELLA_BUILD=$(ASAN) /usr/bin/python3 -m pytest -q tests/proto

check: test-deps
	$(MAKE) unit
	$(MAKE) unit-kdc
	$(MAKE) fuzz-replay
	$(MAKE) bench-smoke
	$(MAKE) proto

run: deps all
	@sh tools/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

# Every imapload workload, 3 s and 5 connections, against a temp Casella.
.PHONY: bench-smoke
bench-smoke: $(BUILD)/casellad $(BUILD)/casella
	@mkdir -p $(BUILD)/bench
	cc -O2 -std=c17 -D_GNU_SOURCE -o $(BUILD)/bench/imapload bench/imapload.c \
		-lssl -lcrypto
	@bench/smoke
