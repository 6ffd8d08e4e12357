package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// buildBinaries returns the binaries `make build` wrote when `make test` names them
// (IMAGE_TEST_MANAGER_BINARY and IMAGE_TEST_JOB_BINARY, stamped with IMAGE_TEST_VERSION and
// IMAGE_TEST_COMMIT), else builds backbone-manager and backbone-job as `make build` does, with the
// flags read from the Makefile.
func buildBinaries(t *testing.T) (bin, jobBin, version, commit string) {
	t.Helper()
	if p, j := os.Getenv("IMAGE_TEST_MANAGER_BINARY"), os.Getenv("IMAGE_TEST_JOB_BINARY"); p != "" && j != "" {
		return p, j, os.Getenv("IMAGE_TEST_VERSION"), os.Getenv("IMAGE_TEST_COMMIT")
	}
	flags, ldflags := makeFlags(t)
	dir := t.TempDir()
	ldflags = strings.NewReplacer("$(VERSION)", "v0.0.0-test", "$(COMMIT)", "0123abc").Replace(ldflags)
	args := append([]string{"build"}, strings.Fields(flags)...)
	args = append(args, "-ldflags", ldflags, "-o", dir+"/", "../../cmd/backbone-manager", "../../cmd/backbone-job")
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return filepath.Join(dir, "backbone-manager"), filepath.Join(dir, "backbone-job"), "v0.0.0-test", "0123abc"
}

// makeFlags returns GO_BUILD_FLAGS and LDFLAGS of the Makefile.
func makeFlags(t *testing.T) (flags, ldflags string) {
	t.Helper()
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	mk := strings.ReplaceAll(string(b), "\\\n", " ")
	get := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + ` :=(.*)$`).FindStringSubmatch(mk)
		if m == nil {
			t.Fatalf("Makefile sets no %s", name)
		}
		return strings.Join(strings.Fields(m[1]), " ")
	}
	if !strings.Contains(mk, "CGO_ENABLED=0 $(GO) build $(GO_BUILD_FLAGS) -ldflags '$(LDFLAGS)'") {
		t.Fatal("make build does not build with CGO_ENABLED=0, GO_BUILD_FLAGS and LDFLAGS")
	}
	return get("GO_BUILD_FLAGS"), get("LDFLAGS")
}

// The Dockerfile builds with the flags of make build.
func TestDockerfileFlagsMatchMakefile(t *testing.T) {
	flags, ldflags := makeFlags(t)
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := strings.ReplaceAll(string(b), "\\\n", " ")
	m := regexp.MustCompile(`RUN CGO_ENABLED=0 go build (.*?) -ldflags "([^"]*)"`).FindStringSubmatch(df)
	if m == nil {
		t.Fatal("the Dockerfile has no RUN CGO_ENABLED=0 go build … -ldflags \"…\"")
	}
	if got := strings.Join(strings.Fields(m[1]), " "); got != flags {
		t.Errorf("Dockerfile go build flags %q, Makefile GO_BUILD_FLAGS %q", got, flags)
	}
	docker := strings.NewReplacer("${VERSION}", "$(VERSION)", "${COMMIT}", "$(COMMIT)").Replace(strings.Join(strings.Fields(m[2]), " "))
	if docker != ldflags {
		t.Errorf("Dockerfile ldflags\n%q\nMakefile LDFLAGS\n%q", docker, ldflags)
	}
	if !strings.Contains(df, "USER 65532:65532") || !strings.Contains(df, `ENTRYPOINT ["/backbone-manager"]`) {
		t.Error("the Dockerfile's user or entrypoint differs from the image hack/image builds")
	}
}

// The image is built, written as an OCI layout tar file, read back, and its binary runs.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, jobBin, binVersion, binCommit := buildBinaries(t)
	created := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	o := Options{
		Binary: bin, JobBinary: jobBin, Certs: "/etc/ssl/certs/ca-certificates.crt", Version: "v0.0.0-test", Revision: "0123abc",
		Source: "https://github.com/backbone-dev/backbone", Created: created,
		Platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
	}
	if _, err := os.Stat(o.Certs); err != nil {
		t.Skipf("no CA certificates on this machine: %v", err)
	}
	dir := t.TempDir()
	var tars [][]byte
	for i := range 2 {
		img, err := Build(o)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "image"+string(rune('0'+i))+".tar")
		if err := WriteLayoutTar(p, img, o.Version); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tars = append(tars, b)
	}
	if !bytes.Equal(tars[0], tars[1]) {
		t.Error("two builds of the same inputs differ")
	}

	// Read it back as a consumer would: untar the layout, open its index.
	lay := filepath.Join(dir, "layout")
	untar(t, bytes.NewReader(tars[0]), lay)
	idx, err := layout.ImageIndexFromPath(lay)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v0.0.0-test" {
		t.Fatalf("index manifests %+v", im.Manifests)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || strings.Join(cf.Config.Entrypoint, " ") != "/backbone-manager" {
		t.Errorf("user %q entrypoint %q", cf.Config.User, cf.Config.Entrypoint)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || !cf.Created.Time.Equal(created) {
		t.Errorf("platform %s/%s created %v", cf.OS, cf.Architecture, cf.Created)
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.version":  "v0.0.0-test",
		"org.opencontainers.image.revision": "0123abc",
		"org.opencontainers.image.created":  "2026-12-01T00:00:00Z",
		"org.opencontainers.image.source":   "https://github.com/backbone-dev/backbone",
		"org.opencontainers.image.title":    "backbone",
	} {
		if cf.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cf.Config.Labels[k], v)
		}
	}

	// The filesystem: the binary, the nonroot user, certificates.
	fsys := map[string]*tar.Header{}
	binaries := map[string][]byte{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fsys[strings.TrimSuffix(h.Name, "/")] = h
		switch h.Name {
		case "backbone-manager", "backbone-job":
			binaries[h.Name], _ = io.ReadAll(tr)
		case "etc/passwd":
			b, _ := io.ReadAll(tr)
			if !strings.Contains(string(b), "nonroot:x:65532:65532:") {
				t.Errorf("/etc/passwd: %s", b)
			}
		}
	}
	for _, p := range []string{"backbone-manager", "backbone-job", "etc/passwd", "etc/group", "etc/ssl/certs/ca-certificates.crt", "tmp", "home/nonroot"} {
		if fsys[p] == nil {
			t.Errorf("the image has no /%s", p)
		}
	}
	if h := fsys["tmp"]; h == nil || h.Mode&0o1000 == 0 {
		t.Error("/tmp is not sticky")
	}
	if h := fsys["home/nonroot"]; h == nil || h.Uid != 65532 {
		t.Error("/home/nonroot is not the nonroot user's")
	}
	for name, binary := range binaries {
		if h := fsys[name]; h == nil || h.Mode&0o111 == 0 {
			t.Fatalf("/%s is missing or not executable", name)
		}
		exe := filepath.Join(dir, "extracted-"+name)
		if err := os.WriteFile(exe, binary, 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(exe, "version", "-o", "json").Output()
		if err != nil {
			t.Fatalf("%s version from the image: %v", name, err)
		}
		var v struct {
			Version string `json:"version"`
			Commit  string `json:"commit"`
		}
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if v.Version != binVersion || v.Commit != binCommit {
			t.Errorf("%s version %+v", name, v)
		}
	}
	if len(binaries) != 2 {
		t.Fatalf("the image holds binaries %v; want backbone-manager and backbone-job", slices.Sorted(maps.Keys(binaries)))
	}
	size := 0
	layers, _ := img.Layers()
	for _, l := range layers {
		s, _ := l.Size()
		size += int(s)
	}
	t.Logf("image: binaries %.1f MB (backbone-manager) and %.1f MB (backbone-job), compressed layers %.1f MB, tar file %.1f MB",
		float64(len(binaries["backbone-manager"]))/1e6, float64(len(binaries["backbone-job"]))/1e6, float64(size)/1e6, float64(len(tars[0]))/1e6)
}

func untar(t *testing.T, r io.Reader, dir string) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
