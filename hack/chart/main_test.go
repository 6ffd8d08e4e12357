package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const repoRoot = "../.."

// TestChartIsCurrent fails when a generated file of the chart differs from what
// `make chart` writes: the CRDs, RBAC rules and alerts copied from config/, the values
// schema and the values table.
func TestChartIsCurrent(t *testing.T) {
	files, err := Generate(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sortedKeys(files) {
		got, err := os.ReadFile(filepath.Join(repoRoot, p))
		if err != nil {
			t.Errorf("%v: run make chart", err)
			continue
		}
		if !bytes.Equal(got, files[p]) {
			t.Errorf("%s is stale: run make chart", p)
		}
	}
	stale, err := Stale(repoRoot, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		t.Errorf("%s has no source in config/ any more: run make chart", p)
	}
}

func TestParseValuesNeedsComments(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"no comment", "# A.\na: 1\nb: 2\n", "b has no comment"},
		{"nested", "# A.\na:\n  # B.\n  b: 1\n  c: x\n", "a.c has no comment"},
		{"list of objects", "# A.\na: [{x: 1}]\n", "needs an @schema line"},
		{"bad @schema", "# A.\n# @schema {type\na: 1\n", "@schema"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vals, err := ParseValues([]byte(c.src))
			if err == nil {
				_, err = Schema(vals)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one with %q", err, c.want)
			}
		})
	}
}

func TestSchemaFromValues(t *testing.T) {
	src := "# Header.\n\n# The image.\nimage:\n  # Its tag.\n  tag: v1\n  # Pull it.\n  pull: true\n# Ports.\nports: [1, 2]\n# Free.\n# @schema {\"type\": \"object\"}\nextra:\n  a: 1\n"
	vals, err := ParseValues([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Schema(vals)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"additionalProperties": false`,
		`"description": "Its tag."`,
		`"type": "boolean"`,
		`"items": {
        "type": "integer"
      }`,
		`"extra": {
      "description": "Free.",
      "type": "object"
    }`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("schema lacks %s:\n%s", want, b)
		}
	}
	table := Table(vals)
	if !strings.Contains(table, "| `image.tag` | string | `\"v1\"` | Its tag. |") || !strings.Contains(table, "| `extra` | object | `{\"a\":1}` | Free. |") {
		t.Errorf("table:\n%s", table)
	}
}
