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
// carries an ETag, and a request whose If-None-Match names it gets 304. It keeps the
// rendered pages and, for the index, each Initiative's object and result manifest, not
// its result: an update renders the Initiative's page and the index only. It is
// read-only and safe for concurrent use.
type Handler struct {
	r *Renderer

	mu    sync.RWMutex
	pages map[string]*rendered // by namespace/name
	docs  map[string]*doc      // by path
}

// rendered is one Initiative's page and CSV, and what the index reads of it.
type rendered struct {
	index     *Input // Initiative and Manifest only
	page, csv *doc
}

type doc struct {
	body        []byte
	etag        string
	contentType string
}

// NewHandler returns a Handler rendering with r, serving an empty index until Set.
func NewHandler(r *Renderer) *Handler {
	h := &Handler{r: r}
	_ = h.swap(map[string]*rendered{}) // an empty index always renders
	return h
}

// Set replaces every page with those of ins.
func (h *Handler) Set(ins []*Input) error {
	next := map[string]*rendered{}
	for _, in := range ins {
		p, err := h.render(in)
		if err != nil {
			return err
		}
		next[in.Namespace()+"/"+in.Name()] = p
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.swap(next)
}

// Update replaces the page of one Initiative (adds it when new).
func (h *Handler) Update(in *Input) error {
	p, err := h.render(in)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	next := make(map[string]*rendered, len(h.pages)+1)
	for k, v := range h.pages {
		next[k] = v
	}
	next[in.Namespace()+"/"+in.Name()] = p
	return h.swap(next)
}

// Delete removes the page of an Initiative.
func (h *Handler) Delete(namespace, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	next := make(map[string]*rendered, len(h.pages))
	for k, v := range h.pages {
		next[k] = v
	}
	delete(next, namespace+"/"+name)
	return h.swap(next)
}

// render renders the page and CSV of in.
func (h *Handler) render(in *Input) (*rendered, error) {
	page, err := h.r.Page(in, false)
	if err != nil {
		return nil, err
	}
	data, err := h.r.CSV(in)
	if err != nil {
		return nil, err
	}
	return &rendered{
		index: &Input{Initiative: in.Initiative, Manifest: in.Manifest},
		page:  newDoc(page, "text/html; charset=utf-8"),
		csv:   newDoc(data, "text/csv; charset=utf-8"),
	}, nil
}

// swap renders the index of pages and serves them; on error nothing changes. The caller
// holds the lock.
func (h *Handler) swap(pages map[string]*rendered) error {
	list := make([]*Input, 0, len(pages))
	for _, p := range pages {
		list = append(list, p.index)
	}
	idx, err := h.r.Index(list, false)
	if err != nil {
		return err
	}
	docs := make(map[string]*doc, 2*len(pages)+1)
	docs["/"] = newDoc(idx, "text/html; charset=utf-8")
	for _, p := range pages {
		base := "/initiatives/" + p.index.Namespace() + "/" + p.index.Name()
		docs[base] = p.page
		docs[base+".csv"] = p.csv
	}
	h.pages, h.docs = pages, docs
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
