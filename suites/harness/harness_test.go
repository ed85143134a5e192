package harness

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/catalog"
	"github.com/hookproof/hookproof/suites/target"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

func TestClientNeverFollowsRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hook" {
			http.Redirect(w, r, "/hook/", http.StatusPermanentRedirect)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	chk := newCheck(catalog.Requirement{ID: "RCV-ACK-004"})
	resp := NewClient().Do(context.Background(), chk, Request{Note: "n", URL: srv.URL + "/hook", Body: []byte("{}")})
	if resp.Status != http.StatusPermanentRedirect || resp.OK() {
		t.Errorf("status %d ok %v, want 308 and not ok", resp.Status, resp.OK())
	}
	if d := resp.Describe(); !strings.Contains(d, "redirect to /hook/") {
		t.Errorf("Describe() = %q", d)
	}
	if ex, _, _, _ := chk.snapshot(); len(ex) != 1 || ex[0].Status != 308 || ex[0].Note != "n" {
		t.Errorf("evidence %+v", ex)
	}
}

func TestClientRecordsRedacted(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session=abc")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"bad signature, secret ` + secret + `"}` + strings.Repeat(" ", 8<<10)))
	}))
	defer srv.Close()
	chk := newCheck(catalog.Requirement{})
	h := http.Header{"Authorization": {"Bearer tok"}, "webhook-id": {"msg_1"}}
	resp := NewClient(WithSecrets(secret)).Do(context.Background(), chk,
		Request{URL: srv.URL, Header: h, Body: []byte(`{"note":"` + secret + `"}`)})
	if !resp.Is4xx() {
		t.Fatalf("status %d", resp.Status)
	}
	ex, _, _, _ := chk.snapshot()
	x := ex[0]
	if got := x.RequestHeaders["Authorization"]; len(got) != 1 || got[0] != reports.Redacted {
		t.Errorf("Authorization recorded as %v", got)
	}
	if got := x.RequestHeaders["webhook-id"]; len(got) != 1 || got[0] != "msg_1" {
		t.Errorf("webhook-id recorded as %v (header keys are kept as sent)", got)
	}
	if got := x.ResponseHeaders["Set-Cookie"]; len(got) != 1 || got[0] != reports.Redacted {
		t.Errorf("Set-Cookie recorded as %v", got)
	}
	for _, s := range []string{x.RequestBody, x.ResponseBody} {
		if strings.Contains(s, "MfKQ9r8") {
			t.Errorf("secret in evidence: %q", s)
		}
	}
	if !strings.Contains(x.ResponseBody, "[truncated:") || len(x.ResponseBody) > 3<<10 {
		t.Errorf("response body not excerpted: %d bytes", len(x.ResponseBody))
	}
}

func TestClientErrorsAreEvidence(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	dead := "http://" + deadAddr(t)
	for name, req := range map[string]Request{
		"timeout": {URL: slow.URL, Timeout: 50 * time.Millisecond},
		"refused": {URL: dead},
	} {
		chk := newCheck(catalog.Requirement{})
		resp := NewClient().Do(context.Background(), chk, req)
		ex, _, _, _ := chk.snapshot()
		if resp.Err == nil || resp.OK() || resp.Is4xx() || len(ex) != 1 || ex[0].Error == "" || ex[0].Status != 0 {
			t.Errorf("%s: resp %+v, evidence %+v", name, resp, ex)
		}
	}
}

func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestProbe(t *testing.T) {
	h, err := ServeHandler(http.NotFoundHandler(), "/x")
	if err != nil {
		t.Fatal(err)
	}
	if err := Probe(context.Background(), h); err != nil {
		t.Errorf("probe of a listening target: %v", err)
	}
	if !strings.HasSuffix(h.URL(), "/x") {
		t.Errorf("URL %q lacks the path", h.URL())
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := Probe(context.Background(), h); !errors.Is(err, ErrUnreachable) {
		t.Errorf("probe of a closed target: %v, want ErrUnreachable", err)
	}
	remote, _ := target.FromURL("http://" + deadAddr(t) + "/hook")
	if err := Probe(context.Background(), remote); !errors.Is(err, ErrUnreachable) {
		t.Errorf("probe of nothing: %v", err)
	}
}

func TestSkipOutcome(t *testing.T) {
	for _, tc := range []struct {
		msg    string
		want   reports.Outcome
		reason string
	}{
		{"not-applicable: not for github", reports.NotApplicable, "not for github"},
		{"not-observable: no effect sink (--sink)", reports.NotObservable, "no effect sink (--sink)"},
		{"skipped: not opted in", reports.Skipped, "not opted in"},
		{"", reports.Skipped, "filtered out by Ginkgo's focus or skip flags"},
		{"something else", reports.Skipped, "something else"},
	} {
		if got, reason := skipOutcome(tc.msg); got != tc.want || reason != tc.reason {
			t.Errorf("skipOutcome(%q) = %s, %q; want %s, %q", tc.msg, got, reason, tc.want, tc.reason)
		}
	}
}

func TestAndFilters(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"", "RCV-SIG-001", "RCV-SIG-001"},
		{"long", "", "long"},
		{"!long", "A || B", "(!long) && (A || B)"},
	} {
		if got := andFilters(tc.a, tc.b); got != tc.want {
			t.Errorf("andFilters(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSpecID(t *testing.T) {
	if got := specID([]string{"signatures", "MUST", "RCV-SIG-001"}); got != "RCV-SIG-001" {
		t.Errorf("specID = %q", got)
	}
	if got := specID([]string{"signatures", "RCV-SIG-1"}); got != "" {
		t.Errorf("specID of no ID = %q", got)
	}
}

func TestResultsRefusesMismatch(t *testing.T) {
	reqs := []catalog.Requirement{{ID: "RCV-A-001"}, {ID: "RCV-A-002"}, {ID: "RCV-A-003"}}
	st := &runState{cfg: Config{Suite: catalog.Receiver}, reqs: reqs, selected: map[string]bool{},
		cases: map[string]reports.Case{},
		seen:  map[string]int{"RCV-A-001": 1, "RCV-A-002": 2, "RCV-B-009": 1}}
	_, err := st.results(time.Now(), time.Now())
	if !errors.Is(err, ErrCatalogMismatch) {
		t.Fatalf("err = %v, want ErrCatalogMismatch", err)
	}
	for _, want := range []string{"RCV-A-002 has 2 specs", "RCV-A-003 has no spec", "RCV-B-009 is not in the receiver catalogue"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestRun runs a small suite against its own catalogue: the one Ginkgo run of this test binary.
func TestRun(t *testing.T) {
	reqs := []catalog.Requirement{
		{ID: "RCV-T-001", Level: reports.MUST, Family: "t", Requirement: "passes", Source: "s"},
		{ID: "RCV-T-002", Level: reports.MUST, Family: "t", Requirement: "fails with expected and actual", Source: "s"},
		{ID: "RCV-T-003", Level: reports.SHOULD, Family: "t", Requirement: "fails through Gomega", Source: "s"},
		{ID: "RCV-T-004", Level: reports.MUST, Family: "t", Requirement: "needs the sink", Source: "s", Needs: []string{"sink"}},
		{ID: "RCV-T-005", Level: reports.MUST, Family: "t", Requirement: "stripe only", Source: "s", Schemes: []string{"stripe"}},
		{ID: "RCV-T-006", Level: reports.MUST, Family: "u", Requirement: "opt-in", Source: "s", Needs: []string{"opt-in"}, OptIn: "x"},
		{ID: "RCV-T-007", Level: reports.MUST, Family: "u", Requirement: "table row", Source: "s"},
		{ID: "RCV-T-008", Level: reports.INFO, Family: "v", Requirement: "deselected", Source: "s"},
	}
	sel, _ := catalog.ParseSelector("", "t,u", "")
	var out bytes.Buffer
	ran := map[string]bool{}
	tt := &T{}
	res, err := Run(tt, Config{Suite: catalog.Receiver, Kind: reports.KindConformReceiver, Requirements: reqs,
		Scheme: "standard", Selector: sel, Seed: 42, Out: &out,
		Meta: reports.RunMeta{Target: "http://example.test"}}, func() {
		ginkgo.Describe("T", func() {
			Case("RCV-T-001", func(ctx ginkgo.SpecContext, c *Check) {
				ran["RCV-T-001"] = true
				c.Record(reports.Exchange{Note: "one"})
			})
			Case("RCV-T-002", func(ctx ginkgo.SpecContext, c *Check) {
				c.Assert(1+1 == 3, "2xx", "401 Unauthorized")
			})
			Case("RCV-T-003", func(ctx ginkgo.SpecContext, c *Check) {
				c.Expect("exactly one effect")
				gomega.Expect(2).To(gomega.Equal(1), "distinct effects")
			})
			Case("RCV-T-004", func(ctx ginkgo.SpecContext, c *Check) { ran["RCV-T-004"] = true })
			Case("RCV-T-005", func(ctx ginkgo.SpecContext, c *Check) { ran["RCV-T-005"] = true })
			Case("RCV-T-006", func(ctx ginkgo.SpecContext, c *Check) { ran["RCV-T-006"] = true })
			Table("rows", func(ctx ginkgo.SpecContext, c *Check, n int) {
				c.Note("row %d", n)
			}, Row("RCV-T-007", 7))
			Case("RCV-T-008", func(ctx ginkgo.SpecContext, c *Check) { ran["RCV-T-008"] = true })
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !tt.Failed() {
		t.Error("Ginkgo did not report the failures to T")
	}
	want := map[string]reports.Outcome{
		"RCV-T-001": reports.Passed, "RCV-T-002": reports.Failed, "RCV-T-003": reports.Failed,
		"RCV-T-004": reports.NotObservable, "RCV-T-005": reports.NotApplicable,
		"RCV-T-006": reports.Skipped, "RCV-T-007": reports.Passed,
	}
	if len(res.Cases) != len(want) {
		t.Fatalf("%d cases, want %d (the deselected one left out)", len(res.Cases), len(want))
	}
	for i, c := range res.Cases {
		if c.ID != reqs[i].ID || c.Outcome != want[c.ID] {
			t.Errorf("case %d: %s %s, want %s %s", i, c.ID, c.Outcome, reqs[i].ID, want[reqs[i].ID])
		}
	}
	c := res.Cases
	if c[0].Evidence[0].Note != "one" || !ran["RCV-T-001"] {
		t.Errorf("RCV-T-001: evidence %+v", c[0].Evidence)
	}
	if c[1].Expected != "2xx" || c[1].Actual != "401 Unauthorized" {
		t.Errorf("RCV-T-002: expected %q actual %q", c[1].Expected, c[1].Actual)
	}
	if c[2].Expected != "exactly one effect" || !strings.Contains(c[2].Actual, "distinct effects") {
		t.Errorf("RCV-T-003: expected %q actual %q", c[2].Expected, c[2].Actual)
	}
	if ran["RCV-T-004"] || ran["RCV-T-005"] || ran["RCV-T-006"] || ran["RCV-T-008"] {
		t.Errorf("a case ran that should not have: %v", ran)
	}
	if c[6].Reason != "row 7" {
		t.Errorf("RCV-T-007 reason %q, want the note", c[6].Reason)
	}
	if res.Run.Seed != 42 || res.Run.Scheme != "standard" || res.Run.Versions["ginkgo"] == "" || res.Run.Target != "http://example.test" {
		t.Errorf("run meta %+v", res.Run)
	}
	for _, id := range []string{"RCV-T-001", "RCV-T-007"} {
		if !strings.Contains(out.String(), id) {
			t.Errorf("no console line for %s:\n%s", id, out.String())
		}
	}
	if strings.Contains(out.String(), "RCV-T-008") {
		t.Errorf("console line for a deselected case:\n%s", out.String())
	}
	if _, err := Run(nil, Config{Suite: catalog.Receiver}, nil); !errors.Is(err, ErrAlreadyRan) {
		t.Errorf("second Run: %v, want ErrAlreadyRan", err)
	}
}

// TestHandlerTargetCloseIgnoresSpareConnections: a connection that never sent a request (a
// client's spare dial) does not make Close fail; a request still being served does.
func TestHandlerTargetCloseIgnoresSpareConnections(t *testing.T) {
	release := make(chan struct{})
	tg, err := ServeHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
	}), "/")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(tg.URL())
	spare, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := tg.Close(ctx); err != nil {
		t.Fatalf("a spare connection made Close fail: %v", err)
	}

	tg2, _ := ServeHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }), "/")
	go func() { _, _ = http.Get(tg2.URL()) }()
	time.Sleep(100 * time.Millisecond)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	err = tg2.Close(ctx2)
	close(release)
	if err == nil {
		t.Fatal("a request in flight did not make Close fail")
	}
}
