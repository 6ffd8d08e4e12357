// Command image builds Backbone's container image without a container engine: a scratch
// base, the static binaries (backbone-manager, which runs the operator and is the
// entrypoint, and backbone-job, which the Jobs run), the system's CA certificates and an /etc/passwd naming the
// nonroot user (uid 65532), written as an OCI image layout in a tar file that
// `crane push`, `skopeo copy oci-archive:…` or `podman load` take.
//
//	go run ./hack/image -manager-binary bin/backbone-manager -job-binary bin/backbone-job -out bin/backbone-image.tar -version v0.1.0 -revision $(git rev-parse HEAD)
//
// The output is a pure function of its inputs: file times and the image's creation time
// come from -created (default the Unix epoch; `make image` passes the commit time).
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where things are in the image.
const (
	managerBinaryPath = "/backbone-manager"
	jobBinaryPath     = "/backbone-job"
	certsPath         = "/etc/ssl/certs/ca-certificates.crt"
	uid               = 65532
)

// Options say what goes into the image.
type Options struct {
	Binary    string    // the static backbone-manager binary, the entrypoint
	JobBinary string    // the static backbone-job binary
	Certs     string    // CA certificates bundle (PEM)
	Version   string    // org.opencontainers.image.version
	Revision  string    // org.opencontainers.image.revision
	Source    string    // org.opencontainers.image.source
	Created   time.Time // file times and the image's creation time
	Platform  v1.Platform
}

func main() {
	var o Options
	var out, created string
	flag.StringVar(&o.Binary, "manager-binary", "bin/backbone-manager", "the static backbone-manager binary, the image's entrypoint (CGO_ENABLED=0)")
	flag.StringVar(&o.JobBinary, "job-binary", "bin/backbone-job", "the static backbone-job binary the Jobs run (CGO_ENABLED=0)")
	flag.StringVar(&o.Certs, "certs", "/etc/ssl/certs/ca-certificates.crt", "CA certificates bundle to put at "+certsPath)
	flag.StringVar(&o.Version, "version", "devel", "image version label")
	flag.StringVar(&o.Revision, "revision", "", "source revision label (a commit)")
	flag.StringVar(&o.Source, "source", "https://github.com/backbone-dev/backbone", "source repository label")
	flag.StringVar(&created, "created", "0", "creation time: Unix seconds or RFC 3339")
	flag.StringVar(&o.Platform.OS, "os", "linux", "image OS")
	flag.StringVar(&o.Platform.Architecture, "arch", "amd64", "image architecture (the binary's)")
	flag.StringVar(&out, "out", "bin/backbone-image.tar", "the OCI layout tar file to write")
	flag.Parse()
	t, err := parseTime(created)
	if err != nil {
		log.Fatalf("-created: %v", err)
	}
	o.Created = t
	img, err := Build(o)
	if err != nil {
		log.Fatal(err)
	}
	if err := WriteLayoutTar(out, img, o.Version); err != nil {
		log.Fatal(err)
	}
	d, _ := img.Digest()
	fmt.Printf("%s %s\n", out, d)
}

func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Parse(time.RFC3339, s)
}

// Build returns the image.
func Build(o Options) (v1.Image, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("reading the manager binary: %w", err)
	}
	jobBin, err := os.ReadFile(o.JobBinary)
	if err != nil {
		return nil, fmt.Errorf("reading the Jobs' binary: %w", err)
	}
	certs, err := os.ReadFile(o.Certs)
	if err != nil {
		return nil, fmt.Errorf("reading CA certificates: %w", err)
	}
	files := []file{
		{path: "etc/", mode: 0o755 | fs.ModeDir},
		{path: "etc/passwd", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", uid, uid))},
		{path: "etc/group", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", uid))},
		{path: "etc/ssl/", mode: 0o755 | fs.ModeDir},
		{path: "etc/ssl/certs/", mode: 0o755 | fs.ModeDir},
		{path: certsPath[1:], mode: 0o644, data: certs},
		{path: "home/", mode: 0o755 | fs.ModeDir},
		{path: "home/nonroot/", mode: 0o700 | fs.ModeDir, owner: uid},
		{path: "tmp/", mode: 0o777 | fs.ModeDir | fs.ModeSticky},
		{path: managerBinaryPath[1:], mode: 0o755, data: bin},
		{path: jobBinaryPath[1:], mode: 0o755, data: jobBin},
	}
	layer, err := tarLayer(files, o.Created)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = o.Platform.OS, o.Platform.Architecture, o.Platform.Variant
	cf.Created = v1.Time{Time: o.Created}
	cf.Config.User = fmt.Sprintf("%d:%d", uid, uid)
	cf.Config.Entrypoint = []string{managerBinaryPath}
	cf.Config.WorkingDir = "/"
	cf.Config.Env = []string{"PATH=/", "HOME=/home/nonroot", "SSL_CERT_FILE=" + certsPath}
	cf.Config.Labels = Labels(o)
	cf.History = []v1.History{{Created: v1.Time{Time: o.Created}, CreatedBy: "hack/image", Comment: "backbone " + o.Version}}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, Labels(o)).(v1.Image), nil
}

// Labels are the OCI annotations (pre-defined keys of the image-spec) the image carries,
// as config labels and as manifest annotations.
func Labels(o Options) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "backbone",
		"org.opencontainers.image.description": "Shared measurement for collective-impact initiatives: a Kubernetes operator and its data engine",
		"org.opencontainers.image.source":      o.Source,
		"org.opencontainers.image.url":         o.Source,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
	}
	if o.Revision != "" {
		l["org.opencontainers.image.revision"] = o.Revision
	}
	return l
}

type file struct {
	path  string
	mode  fs.FileMode
	data  []byte
	owner int
}

// tarLayer returns an uncompressed-then-gzipped layer of files, in the order given, with
// every time set to t.
func tarLayer(files []file, t time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name:    f.path,
			Mode:    int64(f.mode.Perm()),
			ModTime: t,
			Uid:     f.owner,
			Gid:     f.owner,
			Format:  tar.FormatPAX,
		}
		if f.mode&fs.ModeSticky != 0 {
			h.Mode = int64(f.mode.Perm()) | 0o1000
		}
		if f.mode.IsDir() {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer %s: %w", f.path, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("layer %s: %w", f.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// WriteLayoutTar writes img as an OCI image layout (oci-layout, index.json, blobs/) in a
// tar file at path, tagged ref in the index's org.opencontainers.image.ref.name.
func WriteLayoutTar(path string, img v1.Image, ref string) error {
	dir, err := os.MkdirTemp("", "backbone-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := tarDir(tmp, dir); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// tarDir writes the files under dir into a tar file, sorted, with zero times and owners,
// so that the same layout gives the same bytes.
func tarDir(path, dir string) (err error) {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	var names []string
	if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		names = append(names, p)
		return nil
	}); err != nil {
		return err
	}
	sort.Strings(names)
	tw := tar.NewWriter(out)
	for _, p := range names {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h := &tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if fi.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
		} else {
			h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !fi.IsDir() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	return tw.Close()
}
