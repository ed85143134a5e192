package sender

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// withLookup makes the sender resolve names with f instead of DNS (the guard still checks
// every address dialled): a test "DNS" that maps any name to loopback.
func withLookup(f func(ctx context.Context, host string) ([]netip.Addr, error)) Option {
	return func(c *config) { c.lookup = f }
}

// toLoopback resolves every name to 127.0.0.1, as a rebound DNS name would.
func toLoopback(context.Context, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// countingServer serves 200 on addr and counts the connections it accepts.
func countingServer(t *testing.T, addr string, h http.Handler) (port string, accepts *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	accepts = new(atomic.Int64)
	if h == nil {
		h = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	}
	srv := &http.Server{Handler: h, ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			accepts.Add(1)
		}
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port, accepts
}

// openGuarded opens a Sender with the SSRF guard on (openTest turns it off).
func openGuarded(t *testing.T, opts ...Option) *Sender {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "outbox.db"), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// TestBlockedRanges checks the guard's verdict on one address of every refused range, on
// IPv4-mapped and embedded forms, on public addresses, and the allowlist.
func TestBlockedRanges(t *testing.T) {
	refused := []string{
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254", "127.0.0.1",
		"127.255.0.9", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1",
		"192.88.99.1", "192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9",
		"224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
		"::", "::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", "::127.0.0.1",
		"64:ff9b::a00:1", "64:ff9b::7f00:1", "64:ff9b:1::1", "2002:a00:1::1", "2002:7f00:1::",
		"100::1", "2001::1", "2001:2::1", "2001:db8::1", "fc00::1", "fd12:3456::1", "fe80::1",
		"fe80::1%eth0", "fec0::1", "ff02::1",
	}
	allowed := []string{
		"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "172.15.255.255",
		"172.32.0.0", "192.167.255.255", "198.17.255.255", "223.255.255.255", "::ffff:8.8.8.8",
		"64:ff9b::808:808", "2002:808:808::1", "2606:4700:4700::1111", "2a00:1450:4001::1",
	}
	g := guard{}
	for _, a := range refused {
		if err := g.check(netip.MustParseAddr(a)); !errors.Is(err, ErrRefusedDestination) {
			t.Errorf("%s: %v, want refused", a, err)
		}
	}
	for _, a := range allowed {
		if err := g.check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s: %v, want allowed", a, err)
		}
	}
	cidrs, err := ParseCIDRs([]string{"10.20.0.0/16", "fd00::/8", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	g = guard{allowed: cidrs}
	for a, ok := range map[string]bool{"10.20.3.4": true, "::ffff:10.20.3.4": true, "10.21.0.1": false,
		"fd00::5": true, "fc00::5": false, "127.0.0.1": true, "127.0.0.2": false} {
		if err := g.check(netip.MustParseAddr(a)); (err == nil) != ok {
			t.Errorf("allowlist %v, %s: %v, want allowed=%v", cidrs, a, err, ok)
		}
	}
	if err := (guard{allowAll: true}).check(netip.MustParseAddr("169.254.169.254")); err != nil {
		t.Errorf("allow-private: %v", err)
	}
	if _, err := ParseCIDRs([]string{"10.0.0.0/33"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a bad CIDR: %v, want ErrInvalid", err)
	}
}

// TestGuardChecksTheDialledAddress registers a name (accepted: names are not resolved at
// registration) that resolves to loopback when dialled, like a DNS rebinding attack: every
// attempt is refused by the dialer's Control function and the receiver there never gets a
// connection. Allowing its CIDR lets the same delivery through.
func TestGuardChecksTheDialledAddress(t *testing.T) {
	port, accepts := countingServer(t, "127.0.0.1:0", nil)
	url := "http://hooks.rebind.example:" + port + "/hook"

	s := openGuarded(t, withLookup(toLoopback), WithSchedule(Schedule{0, 0, 0}), WithBreaker(0, 0, 0))
	ep := mustEndpoint(t, s, EndpointSpec{URL: url})
	m := mustSend(t, s, ep.ID, `{}`)
	if n := deliverDue(t, s); n != 3 {
		t.Errorf("%d attempts, want the 3 of the schedule", n)
	}
	got := message(t, s, m.ID)
	if got.Status != Dead || !strings.Contains(got.LastError, "SSRF guard") || !strings.Contains(got.LastError, "127.0.0.1 is loopback") {
		t.Errorf("message %s, last error %q; want dead, refused by the SSRF guard", got.Status, got.LastError)
	}
	if n := accepts.Load(); n != 0 {
		t.Fatalf("the refused destination accepted %d connections, want 0", n)
	}

	s2 := openGuarded(t, withLookup(toLoopback), WithSchedule(Schedule{0}),
		WithAllowedCIDRs(netip.MustParsePrefix("127.0.0.0/8")))
	ep2 := mustEndpoint(t, s2, EndpointSpec{URL: url})
	m2 := mustSend(t, s2, ep2.ID, `{}`)
	deliverDue(t, s2)
	if got := message(t, s2, m2.ID); got.Status != Delivered || accepts.Load() == 0 {
		t.Errorf("allowed by --allow-cidr: %s (%s), %d connections; want delivered", got.Status, got.LastError, accepts.Load())
	}
}

// TestGuardAndRedirects: an allowed receiver answers 307 to a refused address. The redirect
// is not followed (a failed attempt), and the address it points to gets no connection.
func TestGuardAndRedirects(t *testing.T) {
	hidden, hiddenAccepts := countingServer(t, "127.0.0.2:0", nil)
	front, _ := countingServer(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.2:"+hidden+"/internal", http.StatusTemporaryRedirect)
	}))
	s := openGuarded(t, WithSchedule(Schedule{0, 0}), WithAllowedCIDRs(netip.MustParsePrefix("127.0.0.1/32")))
	ep := mustEndpoint(t, s, EndpointSpec{URL: "http://127.0.0.1:" + front + "/hook"})
	m := mustSend(t, s, ep.ID, `{}`)
	deliverDue(t, s)
	as := attempts(t, s, m.ID)
	if len(as) != 2 || as[0].StatusCode != 307 || !strings.Contains(as[0].Error, "redirect not followed") {
		t.Errorf("attempts %+v, want two 307s not followed", as)
	}
	if n := hiddenAccepts.Load(); n != 0 {
		t.Errorf("the redirect target got %d connections, want 0", n)
	}
	// Registering the target itself is refused at once: it is an address literal.
	if _, _, err := s.CreateEndpoint(context.Background(), EndpointSpec{URL: "http://127.0.0.2:" + hidden + "/", Secret: testSecret}); !errors.Is(err, ErrInvalid) {
		t.Errorf("registering 127.0.0.2 with only 127.0.0.1/32 allowed: %v, want refused", err)
	}
}

// TestGuardAtRegistration: URLs naming a refused address (or localhost) are refused with 400
// when registered, for the endpoint and its failure notification URL alike.
func TestGuardAtRegistration(t *testing.T) {
	s := openGuarded(t, WithAllowedCIDRs(netip.MustParsePrefix("10.9.0.0/16")))
	for _, u := range []string{"http://127.0.0.1:9/h", "http://localhost:9/h", "http://api.localhost/h", "http://[::1]/h",
		"http://[::ffff:127.0.0.1]/h", "http://169.254.169.254/latest/meta-data", "https://10.0.0.1/h", "http://100.64.1.1/h",
		"http://[fd00::1]/h", "http://0.0.0.0:8080/h", "http://[fe80::1%25eth0]/h"} {
		_, _, err := s.CreateEndpoint(context.Background(), EndpointSpec{URL: u, Secret: testSecret})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "destination refused") {
			t.Errorf("url %s: %v, want refused", u, err)
		}
		_, _, err = s.CreateEndpoint(context.Background(), EndpointSpec{URL: "https://hooks.example.com/h", Secret: testSecret,
			FailureNotificationURL: u})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("failure_notification_url %s: %v, want refused", u, err)
		}
	}
	for _, u := range []string{"https://hooks.example.com/h", "http://10.9.8.7:8080/h", "http://93.184.215.14/h"} {
		if _, _, err := s.CreateEndpoint(context.Background(), EndpointSpec{URL: u, Secret: testSecret}); err != nil {
			t.Errorf("url %s: %v, want accepted", u, err)
		}
	}
}

// TestGuardDefaultOn: Open without options refuses loopback (the production default).
func TestGuardDefaultOn(t *testing.T) {
	port, accepts := countingServer(t, "127.0.0.1:0", nil)
	s := openGuarded(t, withLookup(toLoopback), WithSchedule(Schedule{0}), WithRequestTimeout(5*time.Second))
	ep := mustEndpoint(t, s, EndpointSpec{URL: "http://receiver.internal:" + port + "/"})
	mustSend(t, s, ep.ID, `{}`)
	deliverDue(t, s)
	if accepts.Load() != 0 {
		t.Errorf("the default sender connected to loopback %d times", accepts.Load())
	}
}
