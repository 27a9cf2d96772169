# SPDX-License-Identifier: BSD-2-Clause
# xdproxy build. Every output goes under $(BUILD); quiet unless V=1.
#   make            deps + BPF objects + skeletons + build/xdproxy
#   make test       unit (plain and ASan/UBSan), BPF, integration and brief fuzz tests
#   make fuzz       each libFuzzer harness for FUZZ_SECS (60) seconds
#   make demo       namespace demo topology with live stats
#   make bench      xdproxy vs HAProxy (and direct) in one run; the XDP LB vs
#                   HAProxy and nftables; the HTTP proxy vs HAProxy and nginx;
#                   the forward proxy vs Squid and tinyproxy; TLS termination
#                   vs HAProxy and nginx (BENCH_SUITES="tcp lb http fwd tls" picks)
#   make deps       install the Debian packages all of the above need

BUILD     ?= build
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
MULTIARCH := $(shell $(CC) -dumpmachine)
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN      := -Wall -Wextra -Werror
CFLAGS    ?= -O2 -g
XCFLAGS   := -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Iuser -I$(BUILD)/skel \
             $(shell pkg-config --cflags libbpf libxdp yaml-0.1 openssl jansson libcares libidn2 libcrypt libnghttp2 2>/dev/null)
LDLIBS    := $(shell pkg-config --libs libbpf libxdp yaml-0.1 openssl jansson libcares libidn2 libcrypt libnghttp2 2>/dev/null || echo -lbpf -lxdp -lyaml -lssl -lcrypto -ljansson -lcares -lidn2 -lcrypt -lnghttp2) -lelf -lz -lpthread
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BPF_CFLAGS := -target bpf -mcpu=v3 -g -O2 $(WARN) -D__TARGET_ARCH_$(ARCH) \
              -I/usr/include/$(MULTIARCH) -Iinclude -Ibpf

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/skel/%.skel.h,$(BPF_SRCS))
BPF_HDRS  := $(wildcard bpf/lib/*.h include/xdproxy/*.h)

CLI_SRCS  := $(wildcard user/cli/*.c)
LIB_SRCS  := $(filter-out $(CLI_SRCS),$(wildcard user/*/*.c))
USER_HDRS := $(wildcard user/*/*.h include/xdproxy/*.h)
LIB_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB_AOBJS := $(patsubst %.c,$(BUILD)/asan/%.o,$(LIB_SRCS))
CLI_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
UNIT_ABINS:= $(patsubst tests/unit/%.c,$(BUILD)/tests/unit-asan/%,$(UNIT_SRCS))
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
BPFT_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFT_SRCS))
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRCS))

.PHONY: all deps build test test-unit test-bpf test-integration demo bench clean format
.DEFAULT_GOAL := all

all: deps
	$(Q)$(MAKE) --no-print-directory build

deps:
	$(Q)bash tools/deps.sh

build: $(BUILD)/xdproxy $(BPF_OBJS)

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/skel/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: %.c $(USER_HDRS) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -c $< -o $@

$(BUILD)/asan/%.o: %.c $(USER_HDRS) $(SKELS)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g $(SAN) $(XCFLAGS) -c $< -o $@

$(BUILD)/xdproxy: $(CLI_OBJS) $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJS) $(USER_HDRS)
	$(call msg,CC-TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS) -lcmocka

$(BUILD)/tests/unit-asan/%: tests/unit/%.c $(LIB_AOBJS) $(USER_HDRS)
	$(call msg,CC-TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g $(SAN) $(XCFLAGS) -o $@ $< $(LIB_AOBJS) $(LDLIBS) -lcmocka

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(LIB_OBJS) $(USER_HDRS) $(SKELS) $(wildcard tests/bpf/*.h)
	$(call msg,CC-TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS) -lcmocka

# Each tool is one self-contained file; tlsload (TLS load generator) also
# speaks TLS, so it alone links libssl.
TOOL_LIBS := -lcrypto -lpthread
$(BUILD)/tests/tools/tlsload: TOOL_LIBS := -lssl $(TOOL_LIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -o $@ $< $(TOOL_LIBS)

test-build: build $(UNIT_BINS) $(UNIT_ABINS) $(BPFT_BINS) $(TOOL_BINS)

test: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)BUILD=$(BUILD) bash tests/run.sh all

test-unit test-bpf test-integration: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)BUILD=$(BUILD) bash tests/run.sh $(patsubst test-%,%,$@)

# libFuzzer harnesses (tests/fuzz/fuzz_*.c) over the pure parsers - the
# HTTP parser and h2 layer in user/http/ and the TLS ClientHello reader -
# built with clang from FUZZ_LIB alone: they do no I/O, so nothing else
# links in but the libraries their modules wrap (jansson for alog, nghttp2
# for h2). user/tls/hello.c is named rather than globbed because the rest
# of user/tls/ wraps OpenSSL and has no place in a harness.
# `make fuzz` runs each for FUZZ_SECS seconds; `make test` gives each the
# brief run of tests/run.sh's fuzz suite. New inputs go to
# $(BUILD)/fuzz/corpus/, findings to $(BUILD)/fuzz/artifacts/; the seeds in
# tests/fuzz/corpus/ are only read.
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB   := $(wildcard user/http/*.c) user/tls/hello.c
FUZZ_HDRS  := $(wildcard user/http/*.h tests/fuzz/*.h) user/tls/hello.h
FUZZ_SECS  ?= 60
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer

.PHONY: fuzz test-fuzz
test-build: $(FUZZ_BINS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB) $(FUZZ_HDRS)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -O1 -g $(FUZZ_FLAGS) -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Iuser \
		-o $@ $< $(FUZZ_LIB) \
		$(shell pkg-config --libs jansson libnghttp2 2>/dev/null || echo -ljansson -lnghttp2)

fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BINS)
	$(Q)BUILD=$(BUILD) FUZZ_SECS=$(FUZZ_SECS) bash tests/run.sh fuzz

test-fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BINS)
	$(Q)BUILD=$(BUILD) bash tests/run.sh fuzz

demo: deps
	$(Q)$(MAKE) --no-print-directory build $(TOOL_BINS)
	$(Q)BUILD=$(BUILD) bash tools/demo.sh

# BENCH_SUITES picks the suites: tcp (tools/bench.sh: TCP proxy vs HAProxy),
# lb (tools/bench_lb.sh: XDP load balancer vs HAProxy and nftables), http
# (tools/bench_http.sh: HTTP reverse proxy vs HAProxy and nginx), fwd
# (tools/bench_fwd.sh: forward proxy vs Squid and tinyproxy) and tls
# (tools/bench_tls.sh: TLS termination vs HAProxy and nginx, with
# tests/tools/tlsload), the latter four appended to the same results, in
# this order. Each runs even if another failed; without tcp, the results of
# an earlier run are removed first, not appended to. Each script run alone
# replaces its own section of the results and keeps the others'.
BENCH_SUITES ?= tcp lb http fwd tls
bench: deps
	$(Q)$(MAKE) --no-print-directory build $(TOOL_BINS) $(BUILD)/tests/bpf/test_xdp_lb
	$(Q)rc=0; \
	case " $(BENCH_SUITES) " in \
	*" tcp "*) BUILD=$(BUILD) bash tools/bench.sh || rc=1 ;; \
	*) rm -f $(BUILD)/bench/results.txt $(BUILD)/bench/results.json ;; \
	esac; \
	case " $(BENCH_SUITES) " in \
	*" lb "*) BUILD=$(BUILD) bash tools/bench_lb.sh || rc=1 ;; \
	esac; \
	case " $(BENCH_SUITES) " in \
	*" http "*) BUILD=$(BUILD) bash tools/bench_http.sh || rc=1 ;; \
	esac; \
	case " $(BENCH_SUITES) " in \
	*" fwd "*) BUILD=$(BUILD) bash tools/bench_fwd.sh || rc=1 ;; \
	esac; \
	case " $(BENCH_SUITES) " in \
	*" tls "*) BUILD=$(BUILD) bash tools/bench_tls.sh || rc=1 ;; \
	esac; \
	exit $$rc

format:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	$(Q)rm -rf $(BUILD)

# Keep every intermediate (skeletons, BPF and ASan objects): without this
# make deletes them after each build and rebuilds them the next time.
.SECONDARY:
