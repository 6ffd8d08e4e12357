package manifest

import (
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	objs, err := Decode([]byte("---\napiVersion: v1\nkind: A\n---\n# only a comment\n---\n{\"apiVersion\": \"v1\", \"kind\": \"B\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].GetKind() != "A" || objs[1].GetKind() != "B" {
		t.Fatalf("got %d objects: %v", len(objs), objs)
	}
	if _, err := Decode([]byte("kind: A\n---\nkind: [unclosed\n")); err == nil || !strings.Contains(err.Error(), "document 2") {
		t.Fatalf("want an error naming document 2, got %v", err)
	}
}

// A key twice in one mapping is an error naming the document and the key, in YAML and in
// JSON; the same key in different mappings is not.
func TestDecodeDuplicateKeys(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"top level", "kind: A\n---\nkind: B\nspec:\n  format: CSV\n  partner: p\n  format: Parquet\n", `document 2: a key appears twice in one mapping, and only one would be kept (lines count from the document's start): yaml: unmarshal errors:` + "\n" + `  line 5: key "format" already set in map`},
		{"json", `{"kind": "A", "spec": {"format": "CSV", "format": "Parquet"}}`, `key "format" already set in map`},
		{"different mappings", "kind: A\nspec:\n  name: x\nmetadata:\n  name: y\n", ""},
	} {
		_, err := Decode([]byte(tc.data))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
