package controllers

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/backbone-dev/backbone/internal/store"
)

// rejectsSummary returns the first rejected rows of the rejects file a failed ingestion's
// message names (a URI in the store), e.g. "first rejected rows: row 12, column race, value
// "8": …", or "" when the message names none or the store cannot read it.
func rejectsSummary(ctx context.Context, st *store.Store, msg string, rows int) string {
	prefix := st.URI("")
	i := strings.Index(msg, prefix)
	if i < 0 {
		return ""
	}
	key := msg[i+len(prefix):]
	if j := strings.IndexAny(key, " \n\t"); j >= 0 {
		key = key[:j]
	}
	key = strings.TrimRight(key, ".,;:)")
	if !strings.Contains(key, "/rejects/") {
		return ""
	}
	head, err := st.Head(ctx, key, 16<<10)
	if err != nil {
		return ""
	}
	// Only complete lines: the last one may be cut.
	if j := bytes.LastIndexByte(head, '\n'); j >= 0 {
		head = head[:j+1]
	}
	records, err := csv.NewReader(bytes.NewReader(head)).ReadAll()
	if err != nil || len(records) < 2 {
		return ""
	}
	var parts []string
	for _, rec := range records[1:min(len(records), rows+1)] {
		if len(rec) < 4 {
			continue
		}
		parts = append(parts, fmt.Sprintf("row %s, column %s, value %q: %s", rec[0], rec[1], rec[2], rec[3]))
	}
	if len(parts) == 0 {
		return ""
	}
	return "first rejected rows: " + strings.Join(parts, "; ")
}
