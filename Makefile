# mote — build with `make`, test with `make test`, install with `make install PREFIX=...`.
# `make SAN=1 test` builds and runs everything with ASan+UBSan in build-san/.
# `make CROSS=aarch64-linux-gnu- test` cross-builds in build-aarch64/ and runs
# the tests under qemu-user (see .ci/aarch64 for the Debian packages).

PREFIX  ?= /usr/local
CC      ?= cc
# The release, and the ABI version of libmote.so (its SONAME): bumped when
# a change breaks programs linked against an older libmote.so.
VERSION   := 0.1.0
SOVERSION := 0
TESTPKG := cmocka

# libmote's modules, lowest layer first: a module includes only its own
# headers and those of modules before it. Each names the Debian packages
# (pkg-config names) it links, and libmote links the union of its
# modules' packages and nothing else. Layers above the engine (src/serve,
# src/memory) are built as libraries of their own from their folders, with
# their own package lists, so that a program using libmote alone never
# pulls in an HTTP server or a database.
LIB_MODULES := base gguf tensor kernels jinja model engine toolkit
PKGS_jinja  := libutf8proc
PKGS_engine := libpcre2-8 libutf8proc libcjson
PKGS    := $(sort $(foreach m,$(LIB_MODULES),$(PKGS_$(m))))
# The server (src/serve -> libmote-serve.a): the command, its tests and its
# fuzz target link it; libmote never does.
PKGS_serve := libmicrohttpd libcjson
# The model store (src/store -> libmote-store.a): downloads with libcurl,
# SHA-256 with libsodium; the command links it, libmote never does.
PKGS_store := libcurl libsodium libcjson
# The private memory (src/memory -> libmote-memory.a): the store in SQLite
# (FTS5), ingest of HTML (libxml2), PDF (poppler), mail (GMime), the
# vault's encryption (libsodium), the sandbox (libseccomp), JSON (cJSON: MCP,
# JSON Lines sensor logs).
PKGS_memory := sqlite3 libxml-2.0 poppler-glib gmime-3.0 libsodium libseccomp libcjson

# Cross builds: the compiler, the target's pkg-config files (Debian multiarch)
# and a program that runs the target's binaries here (RUNNER, empty natively).
CROSS   ?=
ifneq ($(CROSS),)
TRIPLE  := $(patsubst %-,%,$(CROSS))
CC      := $(CROSS)gcc
AR      := $(CROSS)ar
BUILD   ?= build-$(firstword $(subst -, ,$(TRIPLE)))$(if $(filter 1,$(SAN)),-san)
# The target's shared libraries are Debian's multiarch ones (libc6:arm64
# comes with the :arm64 -dev packages), found at their usual paths, so qemu
# needs no -L (qemu 7.2 with -L /usr/$(TRIPLE) hangs in pthread_create).
QEMU    := qemu-$(firstword $(subst -, ,$(TRIPLE)))
RUNNER  ?= $(or $(firstword $(wildcard $(foreach d,$(subst :, ,$(PATH)),$(d)/$(QEMU) $(d)/$(QEMU)-static))),$(QEMU))
PKG_CONFIG ?= PKG_CONFIG_LIBDIR=/usr/lib/$(TRIPLE)/pkgconfig:/usr/share/pkgconfig pkg-config
endif
RUNNER  ?=
PKG_CONFIG ?= pkg-config

ifeq ($(SAN),1)
BUILD   ?= build-san
OPT     ?= -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD   ?= build
OPT     ?= -O2 -g
endif

# -ffp-contract=off: a multiply and an add stay two roundings unless the
# code asks for an FMA, which the kernels' bit-for-bit agreement with their
# scalar references (and llama.cpp) relies on. It is gcc's default for
# -std=c11; clang would otherwise fuse them (its F32 dots then differ).
CFLAGS  ?=
CFLAGS  += $(OPT) -std=c11 -ffp-contract=off -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-unused-parameter -Wmissing-prototypes \
           -fPIC -pthread -Iinclude -Isrc $(shell $(PKG_CONFIG) --cflags $(PKGS))
# CI builds with WERROR=1: a warning fails the build.
ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif
# Only what the public headers mark MOTE_API is exported from libmote.so.
LIB_CFLAGS := -fvisibility=hidden
LDFLAGS += $(OPT) -pthread
LDLIBS  := $(shell $(PKG_CONFIG) --libs $(PKGS)) -lm
# What a program linking libmote-serve.a adds after it (libmote.a again:
# the server's objects call into it).
SERVE_LDLIBS := $(BUILD)/libmote-memory.a $(BUILD)/libmote.a $(shell $(PKG_CONFIG) --libs $(PKGS_serve) $(PKGS_memory))
STORE_LDLIBS := $(shell $(PKG_CONFIG) --libs $(PKGS_store))
MEMORY_LDLIBS := $(BUILD)/libmote.a $(shell $(PKG_CONFIG) --libs $(PKGS_memory))

# Kernels for one ISA live in files named *_avx2.c / *_avx512.c / *_neon.c /
# *_dotprod.c and are built with that ISA enabled when the target has it (the
# files of other targets compile to nothing); the dispatcher picks them at
# run time. NEON is baseline on aarch64; dotprod (armv8.2) is checked at run
# time.
TARGET_ARCH_NAME := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine)))
ifeq ($(TARGET_ARCH_NAME),x86_64)
ISA_avx2   := -mavx2 -mfma -mf16c
ISA_avx512 := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16 -mfma -mf16c
endif
ifeq ($(TARGET_ARCH_NAME),aarch64)
ISA_dotprod := -march=armv8.2-a+dotprod
endif

LIB_SRC  := $(sort $(foreach m,$(LIB_MODULES),$(shell find src/$(m) -name '*.c')))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
SERVE_SRC:= $(sort $(wildcard src/serve/*.c))
STORE_SRC:= $(sort $(wildcard src/store/*.c))
MEMORY_SRC:= $(sort $(wildcard src/memory/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
# tests/llama_*.c are programs of their own (linked against llama.cpp), not helpers.
TEST_UTIL:= $(filter-out $(TEST_SRC) tests/llama_%.c,$(wildcard tests/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
SERVE_OBJ:= $(SERVE_SRC:%.c=$(BUILD)/%.o) $(BUILD)/src/serve/chat_page.o
$(SERVE_OBJ): CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS_serve))
# The memory's routes (mem_routes.c) call the memory's library.
$(BUILD)/src/serve/mem_routes.o: CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS_memory))
STORE_OBJ:= $(STORE_SRC:%.c=$(BUILD)/%.o)
$(STORE_OBJ): CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS_store))
MEMORY_OBJ:= $(MEMORY_SRC:%.c=$(BUILD)/%.o)
$(MEMORY_OBJ): CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS_memory))
$(CLI_OBJ): CFLAGS += -DMOTE_VERSION='"$(VERSION)"' 
# The tuning profile is kept per mote version.
$(BUILD)/src/engine/tune_profile.o: CFLAGS += -DMOTE_VERSION='"$(VERSION)"' 
$(BUILD)/src/cli/cmd_memory.o $(BUILD)/src/cli/cmd_mcp.o $(BUILD)/src/cli/memory_common.o $(BUILD)/src/cli/cmd_serve.o: CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS_memory))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_UOBJ:= $(TEST_UTIL:%.c=$(BUILD)/%.o)

# Fuzz targets: fuzz/fuzz_NAME.c, one per parser of untrusted input. Each is
# built as a libFuzzer program by `make fuzz` (clang, in build-fuzz/) and,
# in every build, as replay_NAME (fuzz/replay.c as main), which `make test`
# runs over the seed corpus fuzz/corpus/NAME and the regression inputs
# tests/fuzz/NAME. fuzz/seeds writes the tiny models the GGUF and model
# targets start from.
FUZZ_NAMES := $(sort $(patsubst fuzz/fuzz_%.c,%,$(filter-out fuzz/fuzz_common.c,$(wildcard fuzz/fuzz_*.c))))
FUZZ_OBJ   := $(BUILD)/fuzz/fuzz_common.o $(BUILD)/libmote.a
REPLAY_BIN := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
FUZZ_BIN   := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz-%)
FUZZ_SEEDS := $(BUILD)/fuzz/corpus-seeds/.made

.PHONY: all test install uninstall clean fuzz fuzz-smoke
# ./mote is the default build's command, refreshed whenever it differs
# from build/mote; a sanitizer or cross build stays in its own folder
# (build-san/mote, ...) and never replaces it.
.PHONY: FORCE
ifeq ($(BUILD),build)
all: mote
mote: build/mote FORCE
	@cmp -s $< $@ || cp $< $@
else
all: $(BUILD)/mote
mote: $(BUILD)/mote
	@echo "./mote is the default build's (make); this build's command is $(BUILD)/mote"
endif

$(BUILD)/libmote.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/libmote.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libmote.so.$(SOVERSION) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# The chat page (GET /) is src/serve/chat.html as bytes in the binary.
$(BUILD)/src/serve/chat_page.c: src/serve/chat.html
	@mkdir -p $(@D)
	{ echo '/* generated from src/serve/chat.html by the Makefile */'; \
	  echo 'const char serve_chat_page[] = {'; od -An -v -tx1 $< | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0};'; echo 'const unsigned long serve_chat_page_len = sizeof serve_chat_page - 1;'; } > $@

$(BUILD)/libmote-serve.a: $(SERVE_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/libmote-store.a: $(STORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/libmote-memory.a: $(MEMORY_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/mote: $(CLI_OBJ) $(BUILD)/libmote-serve.a $(BUILD)/libmote-store.a $(BUILD)/libmote-memory.a $(BUILD)/libmote.a
	$(CC) -o $@ $^ $(LDFLAGS) $(shell $(PKG_CONFIG) --libs $(PKGS_serve)) $(STORE_LDLIBS) \
	    $(shell $(PKG_CONFIG) --libs $(PKGS_memory)) $(LDLIBS)

$(LIB_OBJ): CFLAGS += $(LIB_CFLAGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(ISA_$(lastword $(subst _, ,$(basename $(notdir $<))))) -MMD -MP -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags $(TESTPKG)) -Itests -MMD -MP -c $< -o $@

# --wrap=pthread_create: the watchdog knows the threads (tests/watchdog.c).
$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(TEST_UOBJ) $(BUILD)/libmote.a
	$(CC) -o $@ $^ $(LDFLAGS) -Wl,--wrap=pthread_create $(shell $(PKG_CONFIG) --libs $(TESTPKG)) $(LDLIBS)

# test_serve checks the server's helpers directly, besides running the
# command; test_sched drives the server's scheduler; test_serve_config its
# config file's parser.
SERVE_TESTS := $(BUILD)/tests/test_serve $(BUILD)/tests/test_sched $(BUILD)/tests/test_serve_config
$(SERVE_TESTS): $(BUILD)/libmote-serve.a $(BUILD)/libmote-memory.a
$(SERVE_TESTS): LDLIBS := $(SERVE_LDLIBS) $(LDLIBS)

# test_store drives the model store against a hub it serves itself.
$(BUILD)/tests/test_store: $(BUILD)/libmote-store.a
$(BUILD)/tests/test_store: LDLIBS := $(STORE_LDLIBS) $(shell $(PKG_CONFIG) --libs libmicrohttpd) $(LDLIBS)
$(BUILD)/tests/test_store.o: CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS_store) libmicrohttpd)

# The memory's tests (tests/test_mem_*.c) drive libmote-memory.a.
MEMORY_TESTS := $(filter $(BUILD)/tests/test_mem_%,$(TEST_BIN))
$(MEMORY_TESTS): $(BUILD)/libmote-memory.a
$(MEMORY_TESTS): LDLIBS := $(MEMORY_LDLIBS) $(LDLIBS)
$(MEMORY_TESTS:%=%.o): CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS_memory))

# test_cli checks the chat's reasoning splitter (src/cli/think.c) directly,
# besides running the command.
$(BUILD)/tests/test_cli: $(BUILD)/src/cli/think.o
# test_energy holds bench's CPU-time and RAPL meter (src/cli/energy.c) to
# fake powercap folders.
$(BUILD)/tests/test_energy: $(BUILD)/src/cli/energy.o

# test_quant_ggml opens llama.cpp's libggml-base.so (bench/llama) with dlopen.
$(BUILD)/tests/test_quant_ggml: LDLIBS += -ldl
# test_imatrix holds mote's importance matrix to llama.cpp's own, computed
# by tests/peer/imatrix_peer.c through libllama (bench/llama, installed by
# bench/llama-setup); without bench/llama (or in a cross build) the peer is
# not built and that comparison is skipped. It links nothing of mote's and
# no sanitizer: llama.cpp is not built with them.
IMATRIX_PEER := $(BUILD)/tests/peer/imatrix-peer
$(BUILD)/tests/peer/imatrix-peer: tests/peer/imatrix_peer.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) \
	    -Ibench/llama/src/include -Ibench/llama/src/ggml/include -DLLAMA_LIBDIR='"$(LLAMA_LIBDIR)"' \
	    -o $@ $< $(LLAMA_LIBDIR)/libllama.v*.so $(LLAMA_LIBDIR)/libggml.v*.so $(LLAMA_LIBDIR)/libggml-base.so \
	    -Wl,-rpath,$(LLAMA_LIBDIR) -lm

# test_noalloc counts the library's allocations through the linker's --wrap.
$(BUILD)/tests/test_noalloc: LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free \
	-Wl,--wrap=posix_memalign,--wrap=aligned_alloc,--wrap=strdup,--wrap=strndup

# test_quantize_llama holds `mote quantize` to llama.cpp's llama_model_quantize
# byte for byte, through tests/llama_quantize_ref.c linked against
# bench/llama's libllama. bench/llama-setup installs that from npm on first
# use; where it cannot (no npm, no network) or the build is a cross one, the
# reference is not built and the test skips, saying so.
LLAMA_DIR    := bench/llama
LLAMA_LIBDIR  = $(abspath $(LLAMA_DIR)/lib)
LLAMA_REF    := $(BUILD)/tests/llama_quantize_ref
$(BUILD)/tests/test_quantize_llama.o: CFLAGS += -DLLAMA_REF_PATH='"$(abspath $(LLAMA_REF))"'
$(LLAMA_REF): tests/llama_quantize_ref.c $(LLAMA_DIR)/VERSION
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -I$(LLAMA_DIR)/src/include -I$(LLAMA_DIR)/src/ggml/include \
	    -DLLAMA_LIBDIR='"$(LLAMA_LIBDIR)"' -o $@ $< $(LLAMA_LIBDIR)/libllama.v*.so \
	    $(LLAMA_LIBDIR)/libggml.v*.so $(LLAMA_LIBDIR)/libggml-base.so -Wl,-rpath,$(LLAMA_LIBDIR)
.PHONY: llama-ref
llama-ref:
	@if [ -n "$(CROSS)" ]; then echo "SKIP: llama.cpp reference: cross build"; \
	elif sh bench/llama-setup; then $(MAKE) --no-print-directory $(LLAMA_REF) $(IMATRIX_PEER) && \
	  $(MAKE) --no-print-directory -C bench build/llama-kld build/llama-peer; \
	else echo "SKIP: bench/llama-setup failed (npm unreachable?): no llama.cpp reference, test_quantize_llama skips"; fi

# Objects made through the pattern rules below are kept (not intermediate).
.SECONDARY: $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%.o) $(BUILD)/fuzz/replay.o $(BUILD)/fuzz/fuzz_common.o
$(BUILD)/fuzz/replay_%: $(BUILD)/fuzz/fuzz_%.o $(BUILD)/fuzz/replay.o $(FUZZ_OBJ)
	$(CC) -o $@ $^ $(LDFLAGS) $(LDLIBS)
# The option parser's target links the CLI's parser.
$(BUILD)/fuzz/replay_args $(BUILD)/fuzz/fuzz-args: $(BUILD)/src/cli/args.o
# The request and config parsers' targets link the server's library.
SERVE_FUZZ := $(foreach t,serve_request serve_config,$(BUILD)/fuzz/replay_$(t) $(BUILD)/fuzz/fuzz-$(t))
$(SERVE_FUZZ): $(BUILD)/libmote-serve.a $(BUILD)/libmote-memory.a
$(SERVE_FUZZ): LDLIBS := $(SERVE_LDLIBS) $(LDLIBS)
# The memory's targets (mem_*, mcp) link its library and packages.
MEMORY_FUZZ := $(foreach t,$(filter mem_% mcp,$(FUZZ_NAMES)),$(BUILD)/fuzz/replay_$(t) $(BUILD)/fuzz/fuzz-$(t))
$(MEMORY_FUZZ): $(BUILD)/libmote-memory.a
$(MEMORY_FUZZ): LDLIBS := $(MEMORY_LDLIBS) $(LDLIBS)
$(patsubst %,$(BUILD)/fuzz/fuzz_%.o,$(filter mem_% mcp,$(FUZZ_NAMES))): CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS_memory))
$(BUILD)/fuzz/seeds: $(BUILD)/fuzz/seeds.o $(BUILD)/libmote.a
	$(CC) -o $@ $^ $(LDFLAGS) $(LDLIBS)
$(FUZZ_SEEDS): $(BUILD)/fuzz/seeds
	@mkdir -p $(@D)
	$(RUNNER) $< $(@D) && touch $@

# Every test program runs even if one fails; the target fails if any did.
# A program still running after TEST_TIMEOUT seconds prints its threads'
# stacks and the pool's state, and fails (tests/watchdog.c, exit 124).
# With a RUNNER, test_cli spawns the command through a wrapper script (a
# process under qemu-user cannot exec a foreign binary without binfmt).
TEST_TIMEOUT ?= $(if $(RUNNER),900,$(if $(filter 1,$(SAN)),900,600))
test: $(TEST_BIN) $(BUILD)/mote $(BUILD)/libmote.so $(REPLAY_BIN) $(FUZZ_SEEDS) llama-ref
	@fail=0; mote_bin=$(BUILD)/mote; \
	if [ -n "$(RUNNER)" ]; then mote_bin=$(BUILD)/mote-run; \
	  printf '#!/bin/sh\nexec %s %s "$$@"\n' "$(RUNNER)" "$(abspath $(BUILD)/mote)" > $$mote_bin; \
	  chmod +x $$mote_bin; fi; \
	for t in $(TEST_BIN); do \
	  echo "== $$t"; start=$$(date +%s); \
	  MOTE_BIN=$$mote_bin MOTE_TEST_TIMEOUT=$(TEST_TIMEOUT) \
	    MOTE_ADDR2LINE=$(CROSS)addr2line $(RUNNER) $$t || fail=1; \
	  echo "== $$t: $$(($$(date +%s) - start)) s"; \
	done; \
 	for t in $(FUZZ_NAMES); do \
	  echo "== fuzz/replay_$$t"; \
	  seeds=; case $$t in gguf|model) seeds=$(BUILD)/fuzz/corpus-seeds;; esac; \
	  $(RUNNER) $(BUILD)/fuzz/replay_$$t fuzz/corpus/$$t tests/fuzz/$$t $$seeds \
	    2>$(BUILD)/fuzz/replay_$$t.log || { cat $(BUILD)/fuzz/replay_$$t.log; fail=1; }; \
	done; \
	echo "== tests/exports.sh"; NM=$(CROSS)nm sh tests/exports.sh $(BUILD)/libmote.so include/mote.h include/mote_tools.h || fail=1; \
	echo "== tests/adversarial.sh"; bash tests/adversarial.sh $$mote_bin || fail=1; \
	echo "== tests/js"; sh tests/js/run.sh $$mote_bin || fail=1; \
	if [ -z "$(RUNNER)" ] && [ "$(SAN)" != 1 ]; then \
	  echo "== tests/install.sh"; sh tests/install.sh "$(MAKE)" $(BUILD) || fail=1; \
	else echo "SKIP: tests/install.sh runs in native builds without sanitizers"; fi; \
	if [ $$fail -ne 0 ]; then echo "SOME TESTS FAILED"; exit 1; fi; echo "ALL TESTS PASSED"

install: $(BUILD)/mote $(BUILD)/libmote.a $(BUILD)/libmote.so
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BUILD)/mote $(DESTDIR)$(PREFIX)/bin/mote
	install -m 644 $(BUILD)/libmote.a $(DESTDIR)$(PREFIX)/lib/libmote.a
	install -m 755 $(BUILD)/libmote.so $(DESTDIR)$(PREFIX)/lib/libmote.so.$(VERSION)
	ln -sf libmote.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libmote.so.$(SOVERSION)
	ln -sf libmote.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libmote.so
	install -m 644 include/mote.h include/mote_tools.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@PKGS@|$(PKGS)|' -e 's|@VERSION@|$(VERSION)|' mote.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/mote.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mote $(DESTDIR)$(PREFIX)/lib/libmote.a $(DESTDIR)$(PREFIX)/lib/libmote.so \
	      $(DESTDIR)$(PREFIX)/lib/libmote.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libmote.so.$(VERSION) \
	      $(DESTDIR)$(PREFIX)/include/mote.h $(DESTDIR)$(PREFIX)/include/mote_tools.h \
	      $(DESTDIR)$(PREFIX)/lib/pkgconfig/mote.pc

# Fuzzing with libFuzzer: clang, ASan and UBSan (a finding stops the run).
# `make fuzz` builds build-fuzz/fuzz/fuzz-NAME for every target;
# `make fuzz-smoke` runs each for FUZZ_SECONDS (60) from its corpus
# (`-j2` runs two at once); fuzz/run.sh runs one for as long as asked.
FUZZ_CC  ?= clang
FUZZ_OPT := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SECONDS ?= 60

fuzz:
	$(MAKE) BUILD=build-fuzz CC=$(FUZZ_CC) OPT="$(FUZZ_OPT)" fuzz-bins

.PHONY: fuzz-bins
fuzz-bins: $(FUZZ_BIN) $(FUZZ_SEEDS)

$(BUILD)/fuzz/fuzz-%: $(BUILD)/fuzz/fuzz_%.o $(FUZZ_OBJ)
	$(CC) -fsanitize=fuzzer -o $@ $^ $(LDFLAGS) $(LDLIBS)

fuzz-smoke: $(FUZZ_NAMES:%=fuzz-smoke-%)
fuzz-smoke-%: fuzz
	sh fuzz/run.sh $* $(FUZZ_SECONDS)

clean:
	rm -rf build build-san build-aarch64 build-aarch64-san build-fuzz mote

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
