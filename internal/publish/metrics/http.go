package metrics

import (
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/common/expfmt"
)

// Negotiate returns the format to serve for a request's Accept header, and its
// Content-Type: OpenMetrics when the client prefers it, else the text format.
func Negotiate(h http.Header) (Format, string) {
	if expfmt.NegotiateIncludingOpenMetrics(h).FormatType() == expfmt.TypeOpenMetrics {
		return OpenMetrics, string(expfmt.NewFormat(expfmt.TypeOpenMetrics))
	}
	return Text, string(expfmt.NewFormat(expfmt.TypeTextPlain))
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// ServeHTTP serves the exposition in the negotiated format, gzipped when the client
// accepts it.
func (x *Exposition) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, contentType := Negotiate(r.Header)
	w.Header().Set("Content-Type", contentType)
	w.Header().Add("Vary", "Accept, Accept-Encoding")
	if r.Method == http.MethodHead {
		return
	}
	var out io.Writer = w
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzipWriters.Get().(*gzip.Writer)
		gz.Reset(w)
		defer func() {
			_ = gz.Close()
			gzipWriters.Put(gz)
		}()
		out = gz
	}
	// A failed write is the client going away: nothing to tell it.
	_, _ = x.WriteTo(out, f)
}

func acceptsGzip(h string) bool {
	for part := range strings.SplitSeq(h, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0" {
			return true
		}
	}
	return false
}
