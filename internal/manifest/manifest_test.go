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
