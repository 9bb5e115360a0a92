# servegate: LLM serving benchmarks as a Go test suite.
# `make bench` runs the five scenarios on the embedded simulator; `make test` runs the tests.

GO      ?= go
# go-nvml's header marks old NVML calls deprecated; their warnings drown the build log.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations
SCALE   ?= full
TRIALS  ?= 1
PRESET  ?= gpt-oss-20b
PROFILE ?= batching
# Results accumulate in OUT/<framework>/<framework>_<preset>_results.json; FRESH=1 starts
# the file over. Paths are made absolute here: go test runs the suite in benchmarks/.
OUT     ?= results
FRESH   ?=
SCENARIOS := Test(Single|Concurrent|LongContext|PrefixCache|Korean)$$

.PHONY: bench test vet race soak fuzz perf sim compare report ci-bench lint clean frameworks-fake ollama-cpu dashboard browser-test dashboard-screenshots cross

## bench: all five scenarios on the embedded default target (simulator), full shapes
bench:
	$(GO) test ./benchmarks -run '$(SCENARIOS)' -count=1 -v -timeout 60m \
		-args -scale=$(SCALE) -trials=$(TRIALS) -preset=$(PRESET) -profile=$(PROFILE) -out=$(abspath $(OUT)) $(if $(FRESH),-fresh)

## test: vet (untagged and tagged builds), every test (the scenarios at quick scale against
##       the simulator), then the framework-tagged suite against fake frameworks. The suite
##       writes into a temporary directory: results/ is left as it was. gotestsum prints each
##       package as it finishes and every failure in full.
GOTESTSUM := $(GO) tool gotestsum
TEST_OUT := $(shell mktemp -d -u /tmp/servegate-test.XXXXXX)
test: vet
	SERVEGATE_OUT=$(TEST_OUT) $(GOTESTSUM) --format pkgname-and-test-fails -- ./... -count=1 -timeout 15m; status=$$?; rm -rf $(TEST_OUT); exit $$status
	$(MAKE) --no-print-directory frameworks-fake

vet:
	$(GO) vet ./...
	$(GO) vet -tags=gpu,vllm,sglang,ollama ./...
	$(GO) vet -tags=openai ./benchmarks
	$(GO) vet -tags=browser ./dashboard
	$(GO) vet -tags=soak ./harness/scenario

## race: the harness's and simulator's tests under the race detector (-short: the
##       1,000-stream benchmark test stays out)
race:
	$(GO) test -race -short -count=1 -timeout 20m ./harness/... ./frameworks/sim/... ./internal/...

## soak: 256 streams in a closed loop against the simulator injecting every fault, for
##       SOAK (default 10m); prints the client's goroutines, open files and memory over the
##       run and fails on growth or on a request lost or misclassified
SOAK ?= 10m
soak:
	SERVEGATE_SOAK_DURATION=$(SOAK) $(GO) test -tags=soak ./harness/scenario -run '^TestSoak$$' -count=1 -v -timeout 3h

## frameworks-fake: `go test -tags=vllm,sglang,ollama ./benchmarks` end to end with no GPU:
##   each framework's launch command replaced (SERVEGATE_<FW>_COMMAND) by a fake that
##   answers on that framework's paths, metric names and start-up (frameworks/sim/fakeframework)
FAKE_DIR := $(shell mktemp -d -u /tmp/servegate-fake.XXXXXX)
# Three distinct ports drawn at random, so two checkouts' make test at once do not collide,
# and from outside the range of ports the kernel lends to outgoing connections (the harness
# refuses a port a connection's local end holds; one drawn from that range was, in CI):
# the range internal/ports.ForListening gives, below 32768 on a default Linux.
FAKE_PORTS := $(shell set -- $$(cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768 60999); \
	lo=20000; hi=32767; \
	if [ $$1 -gt 21000 ]; then hi=$$(( $$1 - 1 < 32767 ? $$1 - 1 : 32767 )); \
	elif [ $$2 -lt 64535 ]; then lo=$$(( $$2 + 1 > 20000 ? $$2 + 1 : 20000 )); hi=65535; fi; \
	shuf -i $$lo-$$hi -n 3)
frameworks-fake:
	mkdir -p $(FAKE_DIR)
	$(GO) build -o $(FAKE_DIR)/fakeframework ./frameworks/sim/fakeframework
	SERVEGATE_VLLM_COMMAND="$(FAKE_DIR)/fakeframework -framework vllm -port {port} -model {model}" \
	SERVEGATE_SGLANG_COMMAND="$(FAKE_DIR)/fakeframework -framework sglang -port {port} -model {model}" \
	SERVEGATE_OLLAMA_COMMAND="$(FAKE_DIR)/fakeframework -framework ollama -model {model}" \
	SERVEGATE_VLLM_PORT=$(word 1,$(FAKE_PORTS)) SERVEGATE_SGLANG_PORT=$(word 2,$(FAKE_PORTS)) SERVEGATE_OLLAMA_PORT=$(word 3,$(FAKE_PORTS)) \
	SERVEGATE_CACHE_DIR=$(FAKE_DIR)/cache \
	$(GOTESTSUM) --format testname -- -tags=vllm,sglang,ollama ./benchmarks -run '$(SCENARIOS)' -count=1 -timeout 10m -args -scale=quick -out=$(FAKE_DIR)/results
	rm -rf $(FAKE_DIR)

## ci-bench: scenarios and hypothesis gates under gotestsum: JUnit XML and the go test JSON
##           event stream beside the results. Takes make bench's knobs (SCALE, TRIALS, PRESET,
##           PROFILE, FRESH, OUT) and TAGS=gpu,vllm for a framework (empty: simulator).
##           Each point is measured once (a gate decides on the scenario's measurement, taken
##           with the trials the gate needs); -strict: an inconclusive gate fails (STRICT=0
##           lets it skip); a point below MIN_SUCCESS percent success fails.
TAGS        ?=
STRICT      ?= 1
MIN_SUCCESS ?= 99
ci-bench:
	$(if $(and $(TAGS),$(filter command line environment,$(origin PROFILE))),$(error PROFILE picks a simulator profile; a build with TAGS=$(TAGS) runs no simulator: drop PROFILE or TAGS))
	mkdir -p $(OUT)
	$(GOTESTSUM) --format testname --junitfile $(OUT)/junit.xml --jsonfile $(OUT)/go-test-events.json -- \
		$(if $(TAGS),-tags=$(TAGS)) ./benchmarks -run '$(SCENARIOS)|TestHypothesis' -count=1 -timeout 180m \
		-args -scale=$(SCALE) -trials=$(TRIALS) -preset=$(PRESET) $(if $(TAGS),,-profile=$(PROFILE)) -out=$(abspath $(OUT)) $(if $(FRESH),-fresh) \
		-strict=$(if $(filter 1 true,$(STRICT)),true,false) -min-success=$(MIN_SUCCESS)

## ollama-cpu: real Ollamas on CPU, no GPU or download: builds Ollama 0.6.5 and 0.17.4,
##             creates servegate's tiny models, runs the ollama-tagged suite on each
##             (results/ollama-V/ollama/ollama_tiny_results.json; NUM_PARALLEL runs in
##             results-ollama-parallel/ollama-V/)
ollama-cpu:
	bash ci/ollama-cpu.sh results results-ollama-parallel

## cross: macOS builds and vets without cgo (no GPU telemetry there: NVML needs cgo), the
##        framework-tagged suite included; Windows does not build (README, Platforms), and
##        if it ever does, this fails so that README is corrected
cross:
	for arch in amd64 arm64; do \
		GOOS=darwin GOARCH=$$arch CGO_ENABLED=0 $(GO) vet ./... && \
		GOOS=darwin GOARCH=$$arch CGO_ENABLED=0 $(GO) vet -tags=vllm,sglang,ollama,openai ./benchmarks || exit 1; \
	done
	if GOOS=windows CGO_ENABLED=0 $(GO) build ./... 2>/dev/null; then \
		echo "servegate now builds for Windows: say so in README (Platforms)"; exit 1; fi

## lint: check the GitHub workflows
lint:
	$(GO) tool actionlint

## fuzz: a short run of each stream-format fuzz target and of the SSE fast path against fastjson
fuzz:
	$(GO) test ./harness/stream -run '^$$' -fuzz FuzzSSE -fuzztime 30s
	$(GO) test ./harness/stream -run '^$$' -fuzz FuzzNDJSON -fuzztime 30s
	$(GO) test ./harness/stream -run '^$$' -fuzz FuzzChunkScanner -fuzztime 30s

## perf: the performance figures quoted in README (parse speed, client CPU, 1,000 streams,
##       CPU per token on paced streams, 10,000 streams from shards)
perf:
	$(GO) test ./harness/stream -run '^$$' -bench 'Parse' -cpu 1 -benchtime 2s
	$(GO) test ./harness/stream -run '^$$' -bench 'ClientOverhead' -benchtime 200x
	$(GO) test ./harness/scenario -run '^$$' -bench 'ManyStreams' -benchtime 3x
	$(GO) test ./harness/scenario -run 'TestLongPrompts' -count=1 -v
	$(GO) test ./harness/scenario -run '^$$' -bench 'PacedClientCPU' -benchtime 1x -count 3
	$(GO) test ./benchmarks/shards -run '^$$' -bench 'ShardedStreams' -benchtime 1x -count 3 -timeout 60m

## report: tables, charts and index.html from every results/<framework>/*_results.json
##         [BASE=<dir>] adds the significant changes against a baseline
report:
	$(GO) run ./cmd/servegate-report -in $(OUT) -out $(OUT)/summary $(if $(BASE),-base $(BASE) -threshold $(THRESHOLD))

## compare: BASE=<file|dir> [NEW=results] [THRESHOLD=0.1] [ALLOW_MISSING=1]: fail on a
##          significant regression, or on a point that could not be compared
NEW       ?= results
THRESHOLD ?= 0.1
ALLOW_MISSING ?=
compare:
	$(GO) run ./cmd/servegate-compare -base $(BASE) -new $(NEW) -threshold $(THRESHOLD) $(if $(ALLOW_MISSING),-allow-missing)

## dashboard: the live web dashboard on http://127.0.0.1:8080 (ADDR=host:port to change it)
ADDR ?= 127.0.0.1:8080
dashboard:
	$(GO) run ./cmd/servegate-dashboard -addr $(ADDR)

## browser-test: the dashboard in headless Chromium (Debian's chromium, or SERVEGATE_CHROMIUM),
##   driven by chromedp against the simulator and a fake framework: every page opened, two runs
##   followed, a comparison made; a screenshot of each page in $(SCREENSHOTS)
SCREENSHOTS ?= $(CURDIR)/artifacts/dashboard
browser-test:
	SERVEGATE_SCREENSHOTS=$(SCREENSHOTS) $(GO) test -tags=browser ./dashboard -run TestBrowser -count=1 -v -timeout 20m

## dashboard-screenshots: refresh README's screenshots (docs/dashboard/*.png) with the browser test
dashboard-screenshots:
	$(MAKE) --no-print-directory browser-test SCREENSHOTS=$(CURDIR)/docs/dashboard

## sim: run the simulator as a server on 127.0.0.1:8000, at PRESET's published speed, serving
##      the model as PRESET and as its Hugging Face id
sim:
	$(GO) run ./cmd/servegate-sim -addr 127.0.0.1:8000 -profile $(PROFILE) -speed $(PRESET) -model $(PRESET)

clean:
	rm -rf results
