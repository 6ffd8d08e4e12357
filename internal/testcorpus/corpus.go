// Package testcorpus reads the invalid-manifest corpus in testdata/invalid: one file per
// validation rule, each naming the field and the message the rule must produce. The API
// server tests and the offline validation of `backbone local` both run it, so both paths
// are held to the same messages.
package testcorpus

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/backbone-dev/backbone/internal/manifest"
)

// Case is one file of the corpus.
type Case struct {
	// Name is the file name without its extension.
	Name string
	// Field is the path of the field the error must name; empty for the object itself.
	Field string
	// Message is a substring the error message must contain.
	Message string
	// Objects are the file's documents. With one, creating it must fail. With two, the
	// first is created and updating it to the second must fail.
	Objects []*unstructured.Unstructured
}

// Load reads every *.yaml file of dir.
func Load(dir string) ([]Case, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var cases []Case
	for _, p := range paths {
		c, err := load(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("no *.yaml files in %s", dir)
	}
	return cases, nil
}

func load(path string) (Case, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Case{}, err
	}
	c := Case{Name: strings.TrimSuffix(filepath.Base(path), ".yaml")}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "# field:"); ok {
			c.Field = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "# message:"); ok {
			c.Message = strings.TrimSpace(v)
		}
	}
	if c.Message == "" {
		return Case{}, fmt.Errorf("no '# message:' line")
	}
	if c.Objects, err = manifest.Decode(data); err != nil {
		return Case{}, err
	}
	if n := len(c.Objects); n != 1 && n != 2 {
		return Case{}, fmt.Errorf("want 1 or 2 documents, got %d", n)
	}
	return c, nil
}
