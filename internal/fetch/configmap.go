package fetch

import (
	"errors"
	"fmt"
	"os"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// fetchConfigMap checks the mounted ConfigMap key: it exists, is a file, and is within a
// ConfigMap's size. The file itself is ingested; nothing is copied.
func fetchConfigMap(f *spec.Fetch) (*Input, error) {
	st, err := os.Stat(f.File)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("spec.location.configMap: %s does not exist: check the ConfigMap's name and key (in backbone local, put the ConfigMap's manifest in the folder)", f.File)
	}
	if err != nil {
		return nil, fmt.Errorf("spec.location.configMap: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("spec.location.configMap: %s is not a file: check spec.location.configMap.key", f.File)
	}
	if st.Size() > MaxConfigMapBytes {
		return nil, fmt.Errorf("spec.location.configMap: the key is %d bytes, above a ConfigMap's limit of 1 MiB: keep larger tables in an object store or behind https", st.Size())
	}
	return &Input{Path: f.File}, nil
}
