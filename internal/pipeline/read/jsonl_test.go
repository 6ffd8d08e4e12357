package read

import (
	"fmt"
	"strings"
	"testing"
)

func numberedJSONLines(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "{\"b\": \"x%d\", \"a\": %d}\n", i, i)
	}
	return b.String()
}

func TestJSONLines(t *testing.T) {
	cases := []readCase{
		{
			name: "columns in another order than the file",
			file: `{"a": "x", "b": 1.50, "c": true}` + "\n" + `{"c": false, "b": -2e3, "a": "y"}` + "\n",
			opts: Options{Columns: []string{"c", "a", "b"}},
			want: [][]string{{"true", "x", "1.50"}, {"false", "y", "-2e3"}},
		},
		{
			name: "null, absent and empty are null",
			file: `{"a": null, "b": ""}` + "\n" + `{}` + "\n" + `{"a": 0, "b": " "}` + "\n",
			want: [][]string{{null, null}, {null, null}, {"0", " "}},
		},
		{
			name: "numbers keep their exact text",
			file: `{"a": 12345678901234567890123, "b": 0.1000000000000000055511151231257827}` + "\n",
			want: [][]string{{"12345678901234567890123", "0.1000000000000000055511151231257827"}},
		},
		{
			name: "escapes are decoded",
			file: `{"a": "say \"hi\"\n", "b": "caf\u00e9 \ud83d\ude00"}` + "\n",
			want: [][]string{{"say \"hi\"\n", "café 😀"}},
		},
		{
			name: "undeclared keys are ignored, even nested ones",
			file: `{"a": 1, "z": {"y": [1, {"x": null}]}, "b": 2}` + "\n",
			want: [][]string{{"1", "2"}},
		},
		{
			name: "blank lines, CRLF, byte order mark, no final newline",
			file: "\ufeff{\"a\": 1}\r\n\r\n   \n{\"b\": 2}",
			want: [][]string{{"1", null}, {null, "2"}},
		},
		{
			name:      "batches of 3 over 10 rows",
			file:      numberedJSONLines(10),
			opts:      Options{BatchRows: 3},
			want:      numbered(10),
			wantFirst: []int64{1, 4, 7, 10},
		},
		{
			name: "blank lines only",
			file: "\n\n",
			want: nil,
		},
		{
			name:    "empty file",
			file:    "",
			wantErr: []string{"the file is empty (0 bytes)"},
		},
		{
			name:    "duplicate key",
			file:    `{"a": 1, "b": 2}` + "\n" + `{"a": 1, "b": 2, "a": 3}` + "\n",
			wantIs:  ErrDuplicateColumn,
			wantErr: []string{"row 2", `key "a" appears twice in the object`},
		},
		{
			name:    "duplicate key spelled with an escape",
			file:    `{"a": 1, "\u0062": 2, "b": 3}` + "\n",
			wantIs:  ErrDuplicateColumn,
			wantErr: []string{"row 1", `key "b" appears twice`},
		},
		{
			name: "colons and quotes in strings, nested members of other keys",
			file: `{"a": "x\":y", "b": "p:q", "z": {"a": 1, "b": [{"c": 2}]}}` + "\n",
			want: [][]string{{`x":y`, "p:q"}},
		},
		{
			name:    "nested object",
			file:    `{"a": 1}` + "\n\n" + `{"a": {"x": 1}}` + "\n",
			wantIs:  ErrNested,
			wantErr: []string{"row 2 (line 3)", `key "a"`},
		},
		{
			name:    "array",
			file:    `{"a": 1}` + "\n" + `{"a": 2, "b": [1, 2]}` + "\n",
			opts:    Options{BatchRows: 1},
			wantIs:  ErrNested,
			wantErr: []string{"row 2: ", `key "b"`},
		},
		{
			name:    "array line",
			file:    `{"a": 1}` + "\n" + `[1, 2]` + "\n",
			wantIs:  ErrNotObject,
			wantErr: []string{"row 2"},
		},
		{
			name:    "number line",
			file:    `5` + "\n",
			wantIs:  ErrNotObject,
			wantErr: []string{"row 1"},
		},
		{
			name:    "null line",
			file:    `null` + "\n",
			wantIs:  ErrNotObject,
			wantErr: []string{"row 1"},
		},
		{
			name:    "truncated object",
			file:    `{"a": 1}` + "\n" + `{"a": 1, "b"` + "\n",
			wantIs:  ErrNotObject,
			wantErr: []string{"row 2"},
		},
		{
			name:    "two objects on a line",
			file:    `{"a": 1} {"a": 2}` + "\n",
			wantIs:  ErrNotObject,
			wantErr: []string{"row 1"},
		},
		{
			name:    "invalid JSON",
			file:    `{"a": tru}` + "\n",
			wantIs:  ErrNotObject,
			wantErr: []string{"row 1"},
		},
	}
	run(t, JSONLines, cases, textFile("data.jsonl"))
}

func FuzzJSONLines(f *testing.F) {
	f.Add([]byte(`{"a": 1, "b": "x"}` + "\n"))
	f.Add([]byte("\ufeff{\"a\": null}\r\n\n{\"b\": [1]}\n"))
	f.Add([]byte(`{"a": "\u00e9\"", "b": true, "c": {"d": 1}}`))
	f.Add([]byte(`[1]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		fuzzRead(t, data, Options{Format: JSONLines, Columns: []string{"a", "b"}, BatchRows: 3})
	})
}
