package sender

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// The SSRF guard. A webhook sender dials URLs its users chose; without a guard, "deliver to
// http://169.254.169.254/…" reads a cloud metadata service and "http://10.0.0.5:6379/" talks
// to an internal Redis. The guard runs in the dialer's Control function, on the address
// actually dialled after DNS resolution, so a name that resolves (or is rebound) to a refused
// address, and a connection to any address a Happy Eyeballs race tries, are refused before a
// single packet leaves. Redirects are never followed (a 3xx is a failed attempt), and the
// transport uses no proxy, so there is no other path to a refused address.

// ErrRefusedDestination is the error of a dial the SSRF guard refused.
var ErrRefusedDestination = errors.New("destination refused")

// blockedRange is a special-purpose range refused by default, with why.
type blockedRange struct {
	prefix netip.Prefix
	what   string
}

// BlockedRanges lists the ranges the guard refuses unless allowed (WithAllowPrivate,
// WithAllowedCIDRs), from the IANA special-purpose address registries (RFC 6890 and updates).
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are checked as the IPv4 address they carry, and
// so are the IPv4 addresses embedded in NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses.
var BlockedRanges = []blockedRange{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\" (0.0.0.0 reaches the local host)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space / CGNAT (RFC 6598)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (cloud metadata services live here)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private (RFC 1918)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation (TEST-NET-1)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast (deprecated)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private (RFC 1918)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation (TEST-NET-2)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation (TEST-NET-3)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved, and broadcast"},
	{netip.MustParsePrefix("::/96"), "unspecified, loopback or IPv4-compatible (deprecated)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/32"), "Teredo (tunnels to IPv4 hosts)"},
	{netip.MustParsePrefix("2001:2::/48"), "benchmarking"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fc00::/7"), "unique local (private)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// guard decides which addresses may be dialled.
type guard struct {
	allowAll bool
	allowed  []netip.Prefix
}

// check returns nil when addr may be dialled, or an error naming the range that refuses it.
func (g guard) check(addr netip.Addr) error {
	if g.allowAll {
		return nil
	}
	addr = addr.WithZone("")
	for _, a := range []netip.Addr{addr, addr.Unmap()} {
		for _, p := range g.allowed {
			if p.Contains(a) {
				return nil
			}
		}
	}
	why, blocked := blockedWhy(addr)
	if !blocked {
		return nil
	}
	return fmt.Errorf("%w: %s is %s; allow it with --allow-cidr or --allow-private (WithAllowedCIDRs, WithAllowPrivate)",
		ErrRefusedDestination, addr, why)
}

// blockedWhy reports whether addr is in a refused range, and which.
func blockedWhy(addr netip.Addr) (string, bool) {
	addr = addr.Unmap()
	if addr.Is6() {
		b := addr.As16()
		var embedded netip.Addr
		switch {
		case nat64.Contains(addr):
			embedded = netip.AddrFrom4([4]byte(b[12:16]))
		case sixTo4.Contains(addr):
			embedded = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if embedded.IsValid() {
			if why, ok := blockedWhy(embedded); ok {
				return why + " (embedded in " + addr.String() + ")", true
			}
		}
	}
	for _, r := range BlockedRanges {
		if r.prefix.Contains(addr) {
			return r.what, true
		}
	}
	return "", false
}

// control is the dialer's Control function: it runs after resolution, before connect, on
// every address a dial tries.
func (g guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read the dialled address %q", ErrRefusedDestination, address)
	}
	return g.check(ap.Addr())
}

// dialContext is the transport's dial: lookup (tests only) maps names to addresses first;
// whatever is dialled goes through the guard.
func dialContext(d *net.Dialer, lookup func(ctx context.Context, host string) ([]netip.Addr, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if lookup == nil {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := lookup(ctx, host)
		if err != nil {
			return nil, err
		}
		var last error = fmt.Errorf("no address for %s", host)
		for _, ip := range ips {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}
}

// ParseCIDRs parses --allow-cidr values; a bare address is taken as a single-address prefix.
func ParseCIDRs(values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR such as 10.1.0.0/16 or fd00::/8: %w", v, ErrInvalid)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (c *config) guard() guard { return guard{allowAll: c.allowPrivate, allowed: c.allowed} }

// checkDestination refuses, at registration, a URL whose host is an address (or "localhost")
// the guard would refuse to dial: the caller learns at once, not from dead letters. Names
// are checked when dialled, on the address they resolve to.
func (c *config) checkDestination(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errBadRequest("%s: not a URL", field)
	}
	host := u.Hostname()
	addrs := []netip.Addr{}
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = append(addrs, a)
	} else if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		addrs = append(addrs, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback())
	}
	for _, a := range addrs {
		if err := c.guard().check(a); err != nil {
			return errBadRequest("%s: %v", field, err)
		}
	}
	return nil
}
