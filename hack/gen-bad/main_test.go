package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The binary inputs of the corpus are exactly what this generator writes, so a case can
// be changed by changing its generator, and nobody edits a binary by hand.
func TestCorpusMatchesGenerator(t *testing.T) {
	for _, in := range inputs {
		var buf bytes.Buffer
		if err := in.write(&buf); err != nil {
			t.Fatalf("%s/%s: %v", in.dir, in.name, err)
		}
		path := filepath.Join("..", "..", "testdata", "bad", in.dir, in.name)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("%s differs from what go run ./hack/gen-bad writes: run it and commit the result", path)
		}
	}
}
