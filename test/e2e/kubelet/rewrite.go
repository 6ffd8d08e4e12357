//go:build linux

package kubelet

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// mapping replaces a path inside the container by a path on the host.
type mapping struct {
	container string // cleaned, absolute, never "/"
	host      string
}

// rewriter replaces container paths by host paths in strings; longer container paths
// win, so a mount inside another mount is rewritten to its own folder.
type rewriter []mapping

func newRewriter(ms []mapping) (rewriter, error) {
	out := make(rewriter, 0, len(ms))
	for _, m := range ms {
		c := path.Clean(m.container)
		if !path.IsAbs(c) || c == "/" {
			return nil, fmt.Errorf("path %q: only absolute paths below / can be rewritten", m.container)
		}
		out = append(out, mapping{container: c, host: m.host})
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].container) > len(out[j].container) })
	return out, nil
}

// pathChar reports whether c can continue a path segment, so that a match must not end
// (or start) next to it.
func pathChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

// rewrite replaces every occurrence of a container path in s by its host path.
func (r rewriter) rewrite(s string) string {
	if len(r) == 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		matched := false
		if s[i] == '/' && (i == 0 || !pathChar(s[i-1])) {
			for _, m := range r {
				end := i + len(m.container)
				if strings.HasPrefix(s[i:], m.container) && (end == len(s) || !pathChar(s[end])) {
					b.WriteString(m.host)
					i = end
					matched = true
					break
				}
			}
		}
		if !matched {
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

// expand replaces $(NAME) references by the value of NAME in vars, as Kubernetes expands
// command, args and env values: $$ is a literal $, and a reference to an unknown name is
// left as written.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
