// Package httpserve serves an HTTP server on a listener until a context ends, then shuts
// it down gracefully: what `backbone local --listen` and the manager's results and pages
// endpoints share.
package httpserve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// ShutdownTimeout is how long requests in flight get to finish once ctx is done.
const ShutdownTimeout = 5 * time.Second

// Serve serves srv on ln until ctx is done, then shuts it down, waiting up to
// ShutdownTimeout for requests in flight. It returns the server's error when it stops by
// itself.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
