# Backbone — build, generate, test.
#
#   make test      unit tests + tests against a real kube-apiserver/etcd (built on first use)
#   make test-e2e  end to end: Jobs and CronJobs run by a process kubelet (part of make test too)
#   make build     bin/backbone, bin/backbone-manager, bin/backbone-job
#   make generate manifests   deepcopy, CRDs and RBAC from the markers in api/ and controllers/
#   make chart     the Helm chart's generated files (CRDs, RBAC, alerts, values schema and table, golden output)
#   make bench     Backbone vs DuckDB, BENCHFLAGS="-rows 1M,10M -runs 9 -threads 1,2" (not part of make test)
#   make bench-metrics   /metrics: 100k series, compact exposition vs a client_golang GaugeVec registry
#   make bench-operator  the operator on 20 Initiatives, 200 DataSources, 1,000 Indicators (SCALE_NAMESPACES=2 for a quick run)

SHELL := /usr/bin/env bash -o pipefail
GO ?= go
BIN := $(CURDIR)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# The release build: static, without local paths, stripped. The Dockerfile builds with the
# same flags (hack/image's tests check that they agree).
GO_BUILD_FLAGS := -trimpath
LDFLAGS := -s -w -X github.com/backbone-dev/backbone/internal/version.Version=$(VERSION) \
           -X github.com/backbone-dev/backbone/internal/version.Commit=$(COMMIT)
# The commit's time, so that the image is a function of the source.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

CONTROLLER_GEN := $(BIN)/controller-gen
GOLANGCI_LINT := $(BIN)/golangci-lint
CONTROLLER_GEN_ARGS := object:headerFile=hack/boilerplate.go.txt paths=./api/...
MANIFESTS_ARGS := crd rbac:roleName=backbone-manager paths=./api/... paths=./controllers/... \
	output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: all
all: build

##@ Development

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Write deepcopy methods (api/v1alpha1/zz_generated.deepcopy.go).
	$(CONTROLLER_GEN) $(CONTROLLER_GEN_ARGS)

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Write the CRDs (config/crd/bases) and RBAC (config/rbac) from markers.
	$(CONTROLLER_GEN) $(MANIFESTS_ARGS)

.PHONY: verify-generated
verify-generated: $(CONTROLLER_GEN) ## Fail when generated files are stale.
	CONTROLLER_GEN=$(CONTROLLER_GEN) hack/verify-generated.sh '$(CONTROLLER_GEN_ARGS)' '$(MANIFESTS_ARGS)'

.PHONY: chart
chart: ## Regenerate the Helm chart's files (charts/backbone): CRDs, RBAC rules and alerts from config/, values.schema.json and the README's values table from values.yaml, testdata/default.yaml.
	$(GO) run ./hack/chart
	$(GO) -C test/chart test -count=1 -run '^TestGolden$$' . -update

.PHONY: fmt
fmt: ## gofmt the tree.
	gofmt -w $$(git ls-files '*.go')

.PHONY: fmt-check
fmt-check: ## Fail when a Go file is not gofmt-formatted.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet: ## go vet.
	$(GO) vet ./...

.PHONY: engine-deps
engine-deps: ## Fail when the engine (internal/pipeline) links a blob or cloud SDK, a database driver or Kubernetes.
	@out=$$($(GO) list -deps ./internal/pipeline/... | grep -E 'gocloud|k8s.io|aws-sdk|jackc/pgx|Azure/azure-sdk|cloud.google.com' || true); if [ -n "$$out" ]; then echo "internal/pipeline links:"; echo "$$out"; exit 1; fi

.PHONY: lint
lint: $(GOLANGCI_LINT) ## golangci-lint (built from the module proxy).
	$(GOLANGCI_LINT) run ./...

##@ Build

.PHONY: build
build: ## Build bin/backbone (the command line), bin/backbone-manager and bin/backbone-job, the lean binaries the image runs (static, stripped).
	CGO_ENABLED=0 $(GO) build $(GO_BUILD_FLAGS) -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/backbone ./cmd/backbone-manager ./cmd/backbone-job

.PHONY: image
image: build ## Build the OCI image without a container engine: bin/backbone-image.tar (an OCI layout).
	$(GO) run ./hack/image -manager-binary $(BIN)/backbone-manager -job-binary $(BIN)/backbone-job -out $(BIN)/backbone-image.tar \
		-version $(VERSION) -revision $(COMMIT) -created $(SOURCE_DATE_EPOCH) -arch $$($(GO) env GOARCH)

##@ Test

.PHONY: controlplane
controlplane: ## Build the test control plane (kube-apiserver, etcd, kube-controller-manager, kubectl) into the cache.
	hack/controlplane.sh

.PHONY: test
# The image test (hack/image) packs the binary `make build` wrote, stamped with VERSION and
# COMMIT, rather than building its own.
TESTFLAGS ?= -timeout 30m
test: fmt-check vet engine-deps verify-generated build ## Unit tests and tests against the real API server.
	KUBEBUILDER_ASSETS=$$(hack/controlplane.sh) && export KUBEBUILDER_ASSETS && \
	IMAGE_TEST_MANAGER_BINARY=$(BIN)/backbone-manager IMAGE_TEST_JOB_BINARY=$(BIN)/backbone-job IMAGE_TEST_VERSION=$(VERSION) IMAGE_TEST_COMMIT=$(COMMIT) \
	$(GO) test ./... $(TESTFLAGS) && $(MAKE) --no-print-directory test-chart

.PHONY: test-chart
test-chart: ## The Helm chart's tests (test/chart, a module of its own: Helm's Go SDK): render, lint, schema, golden, dry run on the real API server.
	$(GO) -C test/chart vet ./...
	KUBEBUILDER_ASSETS=$$(hack/controlplane.sh) && export KUBEBUILDER_ASSETS && $(GO) -C test/chart test ./... $(TESTFLAGS)

FUZZTIME ?= 30s
# New inputs are minimized for at most this long (Go's default, 60s, stalls the slow XLSX target).
FUZZMINIMIZETIME ?= 5s

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s), one after another; crashers land in testdata/fuzz.
	@failed=; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' internal cmd); do \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $$t ./$$(dirname $$f)"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) ./$$(dirname $$f) || failed="$$failed $$t"; \
		done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz targets failed:$$failed"; exit 1; fi

.PHONY: test-ingest-determinism
test-ingest-determinism: ## Ingest a 3M-row table in every format three times: same snapshot id, every row in its group.
	$(GO) test ./internal/pipeline/ingest -run TestIngestDeterministic -count=1 -timeout 60m -v -ingest.rows=3000000

.PHONY: test-e2e
test-e2e: ## End to end: control plane, kube-controller-manager and a process kubelet running the built backbone (docs/testing.md).
	KUBEBUILDER_ASSETS=$$(hack/controlplane.sh) && export KUBEBUILDER_ASSETS && $(GO) test ./test/e2e/... -count=1 -v $(TESTFLAGS)

.PHONY: envtest
envtest: ## Only the tests against the real API server.
	KUBEBUILDER_ASSETS=$$(hack/controlplane.sh) && export KUBEBUILDER_ASSETS && $(GO) test ./test/... ./controllers/... $(TESTFLAGS)

##@ Benchmark

.PHONY: bench
bench: ## Backbone vs DuckDB (not part of make test)
	$(GO) -C bench run . $(BENCHFLAGS)

.PHONY: bench-metrics
bench-metrics: ## /metrics: 100k series served by the exposition vs a client_golang GaugeVec registry, same run, ratio printed (fails over 0.5 s or 64 MB)
	$(GO) test ./internal/publish/metrics -run '^TestScrapeBudget$$' -count=1 -v -args -metrics.budget

SCALE_NAMESPACES ?= 20
# Pods the process kubelet runs at once in the benchmark (the tests' 3 would make it, not
# the operator, the bottleneck, as a cluster of several nodes would not).
SCALE_MAX_PODS ?= 8
SCALEFLAGS ?=

.PHONY: bench-operator
bench-operator: ## The operator at scale on the e2e control plane: SCALE_NAMESPACES × (1 Initiative, 10 DataSources, 50 Indicators), time to Ready, peak RSS, API requests per reconcile (docs/performance.md; not part of make test)
	KUBEBUILDER_ASSETS=$$(hack/controlplane.sh) && export KUBEBUILDER_ASSETS && BACKBONE_E2E_MAX_PODS=$(SCALE_MAX_PODS) \
	$(GO) test ./test/e2e -run '^$$' -bench '^BenchmarkOperatorScale$$' -benchtime 1x -count 1 -timeout 30m \
		-args -scale.namespaces=$(SCALE_NAMESPACES) $(SCALEFLAGS)

##@ Tools

$(CONTROLLER_GEN): hack/tools/go.mod hack/tools/go.sum
	$(GO) -C hack/tools build -o $(CONTROLLER_GEN) sigs.k8s.io/controller-tools/cmd/controller-gen

$(GOLANGCI_LINT): hack/lint/go.mod hack/lint/go.sum
	$(GO) -C hack/lint build -o $(GOLANGCI_LINT) github.com/golangci/golangci-lint/v2/cmd/golangci-lint

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)
