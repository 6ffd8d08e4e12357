package report

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
)

// Handler serves the pages: the index at /, an Initiative's page at
// /initiatives/<namespace>/<name> and its CSV at /initiatives/<namespace>/<name>.csv.
// Pages are rendered when results change (Set, Update), not per request; each response
// carries an ETag, and a request whose If-None-Match names it gets 304. It is read-only
// and safe for concurrent use.
type Handler struct {
	r *Renderer

	mu     sync.RWMutex
	inputs map[string]*Input // by namespace/name
	docs   map[string]*doc   // by path
}

type doc struct {
	body        []byte
	etag        string
	contentType string
}

// NewHandler returns a Handler rendering with r, serving an empty index until Set.
func NewHandler(r *Renderer) *Handler {
	h := &Handler{r: r, inputs: map[string]*Input{}}
	_ = h.render(map[string]*Input{}) // an empty index always renders
	return h
}

// Set replaces every page with those of ins.
func (h *Handler) Set(ins []*Input) error {
	next := map[string]*Input{}
	for _, in := range ins {
		next[in.Namespace()+"/"+in.Name()] = in
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.render(next)
}

// Update replaces the page of one Initiative (adds it when new).
func (h *Handler) Update(in *Input) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	next := make(map[string]*Input, len(h.inputs)+1)
	for k, v := range h.inputs {
		next[k] = v
	}
	next[in.Namespace()+"/"+in.Name()] = in
	return h.render(next)
}

// Input returns what the page of an Initiative was last rendered from, or nil. It is
// shared: the caller must not change it.
func (h *Handler) Input(namespace, name string) *Input {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.inputs[namespace+"/"+name]
}

// Delete removes the page of an Initiative.
func (h *Handler) Delete(namespace, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	next := make(map[string]*Input, len(h.inputs))
	for k, v := range h.inputs {
		next[k] = v
	}
	delete(next, namespace+"/"+name)
	return h.render(next)
}

// render renders every page of inputs and swaps them in; on error nothing changes. The
// caller holds the lock.
func (h *Handler) render(inputs map[string]*Input) error {
	docs := map[string]*doc{}
	list := make([]*Input, 0, len(inputs))
	for _, in := range inputs {
		list = append(list, in)
	}
	idx, err := h.r.Index(list, false)
	if err != nil {
		return err
	}
	docs["/"] = newDoc(idx, "text/html; charset=utf-8")
	for _, in := range list {
		page, err := h.r.Page(in, false)
		if err != nil {
			return err
		}
		data, err := h.r.CSV(in)
		if err != nil {
			return err
		}
		base := "/initiatives/" + in.Namespace() + "/" + in.Name()
		docs[base] = newDoc(page, "text/html; charset=utf-8")
		docs[base+".csv"] = newDoc(data, "text/csv; charset=utf-8")
	}
	h.inputs, h.docs = inputs, docs
	return nil
}

func newDoc(body []byte, contentType string) *doc {
	sum := sha256.Sum256(body)
	return &doc{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, contentType: contentType}
}

// ServeHTTP serves a rendered page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.mu.RLock()
	d := h.docs[r.URL.Path]
	h.mu.RUnlock()
	if d == nil {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("ETag", d.etag)
	hd.Set("Cache-Control", "public, max-age=60, must-revalidate")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	if match(r.Header.Get("If-None-Match"), d.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", d.contentType)
	if strings.HasPrefix(d.contentType, "text/csv") {
		name := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		hd.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(d.body) // a failed write is the client going away
}

// match reports whether an If-None-Match header names etag (or is *).
func match(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		t := strings.TrimSpace(part)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
