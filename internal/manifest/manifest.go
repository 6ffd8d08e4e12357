// Package manifest decodes Kubernetes manifests: files of YAML or JSON documents separated
// by "---", into unstructured objects, empty documents skipped.
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Decode returns the objects of a manifest file, in order. An error names the document.
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	if err := duplicateKeys(data); err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for i := 1; ; i++ {
		obj := map[string]any{}
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(obj) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
}

// duplicateKeys fails when a mapping of a document has a key twice ("format: CSV" and later
// "format: Parquet"): decoders keep one of them silently. Other problems are left to the
// decoder, which reports them with more context.
func duplicateKeys(data []byte) error {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 1; ; i++ {
		doc, err := r.Read()
		if err != nil {
			return nil // io.EOF, or a problem the decoder reports
		}
		if _, err := yaml.YAMLToJSONStrict(doc); err != nil && strings.Contains(err.Error(), "already set in map") {
			return fmt.Errorf("document %d: a key appears twice in one mapping, and only one would be kept (lines count from the document's start): %w", i, err)
		}
	}
}
