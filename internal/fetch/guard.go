package fetch

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// metadata are cloud instance-metadata addresses outside the link-local range.
var metadata = []netip.Prefix{
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS IMDS over IPv6
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
}

// refusedReason says why addr may not be reached, or "".
func refusedReason(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case addr.IsLoopback():
		return "a loopback address"
	case addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast():
		return "a link-local address (cloud metadata services live there)"
	case addr.IsUnspecified():
		return "the unspecified address"
	case addr.IsMulticast():
		return "a multicast address"
	}
	for _, p := range metadata {
		if p.Contains(addr) {
			return "a cloud metadata address"
		}
	}
	return ""
}

// guard refuses connections to loopback, link-local and cloud metadata addresses, unless
// they are in allowed. It checks the address actually dialled, after name resolution, so
// a name that resolves to a refused address (or changes to one) is refused too.
type guard struct {
	allowed []netip.Prefix
}

func newGuard(cidrs []string) (*guard, error) {
	g := &guard{}
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return nil, fmt.Errorf("allowed network %q is not a CIDR (e.g. 127.0.0.1/32): %w", c, err)
		}
		g.allowed = append(g.allowed, p)
	}
	return g, nil
}

// RefusedAddressError is a connection refused by the address guard.
type RefusedAddressError struct {
	Address string
	Reason  string
}

func (e *RefusedAddressError) Error() string {
	return fmt.Sprintf("refused to connect to %s, %s; if this server is really the source, allow its network (--allow-network CIDR)", e.Address, e.Reason)
}

func (g *guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("address %q: %w", address, err)
	}
	for _, p := range g.allowed {
		if p.Contains(ap.Addr().Unmap()) {
			return nil
		}
	}
	if r := refusedReason(ap.Addr()); r != "" {
		return &RefusedAddressError{Address: ap.Addr().String(), Reason: r}
	}
	return nil
}

// dialer returns a DialContext that applies the guard.
func (g *guard) dialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	return d.DialContext
}
