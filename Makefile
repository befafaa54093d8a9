# surge — GNU make build. `make` builds build/surge; see `make help`.
# Sources are found by folder: every src/**/*.c is part of the binary, every
# tests/unit/*.c part of the unit-test runner, every tests/fuzz/fuzz_*.c a fuzz driver.

BUILD    ?= build
CC       ?= cc
PKGS     := openssl zlib jansson sqlite3 libpq hiredis luajit liburing libnghttp2
OPT      ?= -O2
SANITIZE ?=
NPROC    := $(shell nproc 2>/dev/null || echo 2)
# a make started by make builds in parallel unless the user chose -j
SUBMAKE   = $(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC))
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)

# Goals that need no compiler flags: `demo` and `test` install the packages first and then run
# make again, so the flags below are read only after the packages exist.
NO_BUILD_GOALS := deps demo test asan tsan alloc-fail alloc-fail-long soak valgrind fresh-check bench \
		  clean help format
BUILD_GOALS    := $(filter-out $(NO_BUILD_GOALS),$(or $(MAKECMDGOALS),all))
ifneq ($(BUILD_GOALS),)
ifneq ($(shell pkg-config --exists $(PKGS) 2>/dev/null && echo ok),ok)
MISSING := $(or $(shell scripts/deps.sh --missing build),pkg-config does not find all of: $(PKGS))
$(error $(MISSING). Install them with `scripts/deps.sh` (as root or with sudo), or run `make demo` / `make test`, which do)
endif
endif
PKG_CFLAGS := $(if $(BUILD_GOALS),$(shell pkg-config --cflags $(PKGS)))
PKG_LIBS   := $(if $(BUILD_GOALS),$(shell pkg-config --libs $(PKGS)))

CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	   -D_GNU_SOURCE -pthread -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) $(SANITIZE) -MMD -MP
LDFLAGS += -pthread $(SANITIZE)
LDLIBS  += $(PKG_LIBS) -lm

LIB_SRC  := $(sort $(wildcard src/core/*.c src/gen/*.c src/scenario/*.c src/serve/*.c src/scrape/*.c src/report/*.c src/result/*.c \
	      src/live/*.c src/ui/*.c src/dist/*.c src/cli/*.c))
LIB_SRC  := $(filter-out src/cli/main.c,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/web_assets.o
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
# The parsers and what they need, compiled once with the fuzzer's instrumentation into an
# archive: each driver links only the objects it uses (no web assets; serve for
# fuzz_serve_h2, which drives a connection of it in process).
FUZZ_LIB := $(sort $(wildcard src/core/*.c src/gen/*.c src/scenario/*.c src/report/*.c src/result/*.c \
	      src/scrape/*.c src/dist/*.c src/serve/*.c)) \
	    src/ui/ui_access.c src/ui/ui_control.c src/cli/cli_ui_control.c
FUZZ_LIB := $(filter-out src/report/report_html.c,$(FUZZ_LIB))
FUZZ_OBJ := $(FUZZ_LIB:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_CFLAGS := -std=c11 -O1 -g -D_GNU_SOURCE -pthread -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) \
	       -fno-omit-frame-pointer -fno-sanitize-recover=all -MMD -MP
FUZZ_SECONDS ?= 60

.PHONY: all test unit asan tsan alloc-fail alloc-fail-long soak valgrind fuzz fuzz-long bench demo deps fresh-check format clean help FORCE image

all: $(BUILD)/surge

$(BUILD)/surge: $(LIB_OBJ) $(BUILD)/src/cli/main.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit-tests: $(LIB_OBJ) $(UNIT_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The version string is rewritten only when it changes, so only version.o follows git.
$(BUILD)/gen/version_string.h: FORCE
	@mkdir -p $(dir $@)
	@echo '#define SURGE_VERSION_STRING "$(VERSION)"' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(BUILD)/src/core/version.o: $(BUILD)/gen/version_string.h
FORCE:

# The scenario prelude is Lua, kept readable in src/scenario/prelude.lua and compiled in as a
# C string.
$(BUILD)/gen/scenario_prelude.h: src/scenario/prelude.lua
	@mkdir -p $(dir $@)
	@{ echo '/* generated from src/scenario/prelude.lua: do not edit */'; \
	   echo 'static const char scenario_prelude[] ='; \
	   sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	   echo ';'; } >$@.tmp && mv $@.tmp $@
$(BUILD)/src/scenario/scenario_vm.o: $(BUILD)/gen/scenario_prelude.h

# Web assets come from the npm registry at build time, pinned by web/package-lock.json —
# Swagger UI for /apidocs, uPlot for the HTML report and the live UI — and are compiled into the
# binary with the report's own template, script and style (web/report/) and the live UI's page
# (web/ui/, served by src/ui/): nothing vendored, no network at run time. npm runs again only
# when the lock file changes; without npm the build stops.
# Each group is `--group NAME DIR FILE...`; code finds a file with web_asset_find(NAME, FILE).
WEB_DIR    := build/web
WEB_MODS   := $(WEB_DIR)/node_modules
WEB_SWAGGER := swagger-ui.css swagger-ui-bundle.js favicon-32x32.png favicon-16x16.png \
	      LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt
WEB_UPLOT  := dist/uPlot.iife.min.js dist/uPlot.min.css LICENSE
WEB_REPORT := report.html report.js report.css
WEB_UI     := index.html ui.css ui_format.js ui_charts.js ui_table.js ui_store.js ui.js
WEB_GROUPS := --group swagger-ui-dist $(WEB_MODS)/swagger-ui-dist $(WEB_SWAGGER) \
	      --group uplot $(WEB_MODS)/uplot $(WEB_UPLOT) \
	      --group report web/report $(WEB_REPORT) \
	      --group ui web/ui $(WEB_UI)
$(WEB_DIR)/.installed: web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm is needed to fetch web assets (run scripts/deps.sh)" >&2; exit 1; }
	@mkdir -p $(WEB_DIR)
	cp web/package.json web/package-lock.json $(WEB_DIR)/
	cd $(WEB_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
		|| { echo "error: npm could not fetch the web assets in web/package-lock.json" >&2; exit 1; }
	@touch $@
$(BUILD)/gen/web_assets.c: $(WEB_DIR)/.installed scripts/embed_assets.sh Makefile \
			   $(addprefix web/report/,$(WEB_REPORT)) $(addprefix web/ui/,$(WEB_UI))
	@mkdir -p $(dir $@)
	scripts/embed_assets.sh $@ $(WEB_GROUPS)
$(BUILD)/gen/web_assets.o: $(BUILD)/gen/web_assets.c
	$(CC) $(CFLAGS) -c -o $@ $<

deps:
	@scripts/deps.sh

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

# The whole suite: unit tests, integration tests against real processes (each file on both I/O
# backends, io_uring and epoll), a short fuzz run.
# deps.sh runs first and make starts again, so the build sees what deps.sh just installed.
test: deps
	@$(SUBMAKE) all $(BUILD)/unit-tests
	@BUILD=$(BUILD) tests/run

# The same suite built with AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	@SURGE_SANITIZED=1 $(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 \
		SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" SKIP_FUZZ=1 test

# Allocation failures (tests/allocfail, docs/testing.md): surge linked with a malloc that fails
# on command (SURGE_ALLOC_FAIL), built with `make asan`'s sanitizers and sharing its objects in
# build/asan, so a leak or a bad access after a failure is seen too. The generator and the
# server are driven through short runs with the Nth allocation failing, for N across the run.
# ALLOC_FAIL_RUNS runs per case (default 40), ALLOC_FAIL_JOBS at a time (default 2).
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
alloc-fail: deps
	@$(SUBMAKE) BUILD=build/asan OPT=-O1 SANITIZE="$(ASAN_FLAGS)" build/asan/surge-allocfail
	@$(SUBMAKE) build/surge
	@SURGE_ALLOC_BIN=build/asan/surge-allocfail SURGE_BIN=build/surge tests/allocfail/run

# The same sweep with ten times the runs, and every N of report, compare and merge (hours).
alloc-fail-long: deps
	@$(SUBMAKE) BUILD=build/asan OPT=-O1 SANITIZE="$(ASAN_FLAGS)" build/asan/surge-allocfail
	@$(SUBMAKE) build/surge
	@ALLOC_FAIL_RUNS=$${ALLOC_FAIL_RUNS:-400} ALLOC_FAIL_DENSE=1 SURGE_ALLOC_BIN=build/asan/surge-allocfail \
		SURGE_BIN=build/surge tests/allocfail/run

# The shim is compiled without the sanitizers: it is the allocator they sit under.
$(BUILD)/allocfail/alloc_fail.o: tests/allocfail/alloc_fail.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -fno-builtin -c -o $@ $<
$(BUILD)/surge-allocfail: $(LIB_OBJ) $(BUILD)/src/cli/main.o $(BUILD)/allocfail/alloc_fail.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Long runs stay flat (tests/soak/run, docs/testing.md): surge serve under 1,000 scenario users
# over every endpoint family plus an open-model rate stage for SOAK_MINUTES; RSS and open
# descriptors of each process sampled every 10 s into build/soak/; PASS when none grows more
# than 5 % after the warm-up and the server's descriptors return to their baseline.
SOAK_MINUTES ?= 30
soak: deps
	@$(SUBMAKE) all
	@SOAK_MINUTES=$(SOAK_MINUTES) tests/soak/run

# Each command (serve, run, capacity, report, compare, merge) in a short test under valgrind's
# memcheck (tests/valgrind/run): no error, nothing definitely lost; logs in build/valgrind/.
valgrind: deps
	@$(SUBMAKE) all
	@tests/valgrind/run

# ThreadSanitizer: the multi-threaded parts (serve --workers N, run -t N, scenarios on several
# threads) under tests/tsan, which fails on any race report.
tsan: deps
	@$(SUBMAKE) BUILD=build/tsan OPT=-O1 SANITIZE="-fsanitize=thread -fno-omit-frame-pointer" \
		build/tsan/surge build/tsan/unit-tests
	@BUILD=build/tsan tests/tsan

# libFuzzer drivers (clang): each runs FUZZ_SECONDS on a copy of its seed corpus
# (tests/fuzz/run); `make test` shares FUZZ_TEST_BUDGET seconds among them (tests/run), or
# gives each FUZZ_TEST_SECONDS.
# (the generated headers are order-only: -MMD records which objects include them, so a new
# version string recompiles version.o, not the whole archive)
$(BUILD)/fuzz/obj/%.o: %.c | $(BUILD)/gen/version_string.h $(BUILD)/gen/scenario_prelude.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<
$(BUILD)/fuzz/libsurge-fuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/fuzz/libsurge-fuzz.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Wall -Wextra -Wshadow -Wno-unused-parameter -Werror \
		-fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_EXTRA_$*) \
		$(BUILD)/fuzz/libsurge-fuzz.a $(PKG_LIBS) -lm
# serve's /apidocs serves embedded files: the one driver that links serve links them (data,
# not instrumented)
FUZZ_EXTRA_fuzz_serve_h2 := $(BUILD)/gen/web_assets.o
$(BUILD)/fuzz/fuzz_serve_h2: $(BUILD)/gen/web_assets.o

fuzz: $(FUZZ_BIN)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUDGET=$(FUZZ_BUDGET) BUILD=$(BUILD) tests/fuzz/run

# An hour per driver, one after the other: the long run before a release.
fuzz-long: $(FUZZ_BIN)
	@FUZZ_SECONDS=3600 BUILD=$(BUILD) tests/fuzz/run

bench: deps
	@scripts/deps.sh --bench
	@$(SUBMAKE) all
	bench/gen-vs-peers.sh
	bench/serve-vs-nginx.sh
	bench/loop-vs-libuv.sh
	bench/scenario-vs-url.sh
	bench/ui-perturbation.sh
	bench/coordinator-scale.sh

demo: deps
	@$(SUBMAKE) all
	@scripts/demo.sh

# The README's two commands from a clean clone of HEAD in a minimal Debian 12 root.
fresh-check:
	@scripts/fresh-machine.sh

# The container image (deploy/Containerfile) built by buildah without a daemon, into a
# storage root under build/ (vfs driver), and written as the OCI archive $(BUILD)/surge-image.tar
# for `minikube image load`, `kind load image-archive` or `docker load`. IMAGE names it;
# IMAGE_SOURCE and IMAGE_LICENSES fill its OCI labels.
IMAGE          ?= surge:$(VERSION)
IMAGE_SOURCE   ?= $(shell git remote get-url origin 2>/dev/null)
IMAGE_LICENSES ?= NOASSERTION
BUILDAH_STORAGE ?= --root $(CURDIR)/$(BUILD)/containers/storage --runroot $(CURDIR)/$(BUILD)/containers/run --storage-driver vfs
image: $(BUILD)/surge
	@VERSION=$(VERSION) SOURCE="$(IMAGE_SOURCE)" LICENSES="$(IMAGE_LICENSES)" \
		BUILDAH_STORAGE="$(BUILDAH_STORAGE)" deploy/image/build.sh $(BUILD)/surge $(IMAGE) $(BUILD)/surge-image.tar

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

help:
	@echo "make          build build/surge"
	@echo "make test     install missing packages, build, run the whole test suite"
	@echo "make asan     the same suite under ASan+UBSan (build/asan)"
	@echo "make tsan     the multi-threaded tests under ThreadSanitizer (build/tsan)"
	@echo "make fresh-check  README's two commands in a fresh Debian 12 root (debootstrap)"
	@echo "make alloc-fail  run, serve, report, compare, merge with their Nth allocation failing (ASan)"
	@echo "make soak     serve under a mixed load for SOAK_MINUTES (default 30): RSS and fds stay flat"
	@echo "make valgrind each command in a short test under valgrind memcheck"
	@echo "make fuzz     libFuzzer drivers, FUZZ_SECONDS each (default 60)"
	@echo "make fuzz-long  the same drivers for an hour each"
	@echo "make bench    surge vs wrk/hey/h2load/ab on an nginx fixture (bench/)"
	@echo "make demo     start a target on loopback, run a short load test, write results"
	@echo "make image    the container image with buildah (deploy/Containerfile), build/surge-image.tar"

-include $(LIB_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(BUILD)/src/cli/main.d $(FUZZ_OBJ:.o=.d) \
	 $(FUZZ_BIN:=.d)
