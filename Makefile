# berth - the front door.  `make` builds build/berth; `make test` runs every
# test (unit, sanitizer, integration) and ends with "N passed, N failed";
# `make demo` runs the main job on the embedded defaults; `make bench` compares
# berth with its peers.  Everything wraps meson + ninja.
BUILD ?= build
ASAN_BUILD ?= build-asan
MESON ?= meson

.PHONY: all deps build asan test unit integration demo bench fuzz clean

all: build

deps:
	@./tools/deps.sh

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --buildtype=debugoptimized >/dev/null

$(ASAN_BUILD)/build.ninja:
	$(MESON) setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false >/dev/null

build: $(BUILD)/build.ninja
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)

asan: $(ASAN_BUILD)/build.ninja
	@ninja -C $(ASAN_BUILD) >/dev/null || ninja -C $(ASAN_BUILD)

test: deps
	@./tests/run-all.sh

demo: deps build
	@./tools/demo.sh

bench: deps build
	@./tools/deps.sh --peers
	@./bench/run.sh

fuzz:
	@./tests/fuzz/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
