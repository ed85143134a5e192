package chaos

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// scenarioOf is a scenario of n unnamed delay faults.
func scenarioOf(n int) []byte {
	var b strings.Builder
	b.WriteString("seed: 1\nfaults:\n")
	for range n {
		b.WriteString("  - type: delay\n")
	}
	return []byte(b.String())
}

// parseWithin parses data, failing the test when that takes longer than d.
func parseWithin(t *testing.T, data []byte, d time.Duration) (*Scenario, error) {
	t.Helper()
	type res struct {
		sc  *Scenario
		err error
	}
	done := make(chan res, 1)
	go func() { sc, err := ParseScenario(data); done <- res{sc, err} }()
	select {
	case r := <-done:
		return r.sc, r.err
	case <-time.After(d):
		t.Fatalf("parsing took over %v", d)
		return nil, nil
	}
}

// Unnamed faults are named in linear time, and a scenario holds at most MaxFaults.
func TestScenarioLoadingIsBounded(t *testing.T) {
	start := time.Now()
	sc, err := parseWithin(t, scenarioOf(MaxFaults), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.Faults[len(sc.Faults)-1].Name; got != fmt.Sprintf("delay-%d", MaxFaults) {
		t.Errorf("last fault named %q", got)
	}
	t.Logf("%d unnamed faults parsed in %v", MaxFaults, time.Since(start).Round(time.Millisecond))
	if _, err := parseWithin(t, scenarioOf(30000), 10*time.Second); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("30,000 faults: %v, want an error saying at most %d", err, MaxFaults)
	}
}

// Chained duplicates multiply up to MaxCopies per request, no more.
func TestChainedDuplicatesAreCapped(t *testing.T) {
	dup := FaultSpec{Type: "duplicate", Probability: 1, Params: Params{"copies": "100"}}
	dup2 := dup
	dup2.Name = "duplicate-2"
	r := newRig(t, 1, dup, dup2)
	if st, _, err := r.send(t, "msg_dup", "{}"); err != nil || st != 200 {
		t.Fatalf("send: %d %v", st, err)
	}
	time.Sleep(500 * time.Millisecond)
	eventually(t, "copies settle", func() bool { return r.up.hits() >= 1+MaxCopies })
	time.Sleep(300 * time.Millisecond)
	if n := r.up.hits(); n > 1+MaxCopies {
		t.Errorf("upstream got %d requests for one delivery, want at most %d", n, 1+MaxCopies)
	}
}

// The admin API refuses a second JSON object in a body, a CR or LF in a header name, and a
// delay beyond MaxDelay.
func TestAdminRefusesHostileSpecs(t *testing.T) {
	r := newRig(t, 5)
	admin := httptest.NewServer(r.proxy.AdminHandler())
	defer admin.Close()
	for _, body := range []string{
		`{"type":"drop"}{"type":"drop","name":"second"}`,
		`{"type":"corrupt","params":{"header":"X-A\r\nX-Injected"}}`,
		`{"type":"drop","match":{"header":{"X-A\r\nB":"*"}}}`,
		`{"type":"delay","params":{"duration":"1000h"}}`,
	} {
		if st, resp := adminCall(t, admin.URL, "POST", "/faults", body); st != 400 {
			t.Errorf("POST /faults %q = %d %s, want 400", body, st, resp)
		}
	}
}
