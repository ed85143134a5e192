package sender

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestAPIRefusesCredentialsInURLs: an endpoint or notification URL with user:password@ is
// refused with 400, and the password is not echoed back.
func TestAPIRefusesCredentialsInURLs(t *testing.T) {
	s := openTest(t)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, body := range []string{
		`{"url":"https://alice:s3cr3tpw@hooks.example.com/h","secret":"` + testSecret + `"}`,
		`{"url":"https://alice@hooks.example.com/h","secret":"` + testSecret + `"}`,
		`{"url":"https://hooks.example.com/h","secret":"` + testSecret + `","failure_notification_url":"https://ops:s3cr3tpw@ops.example.com/n"}`,
	} {
		resp, err := http.Post(srv.URL+"/endpoints", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "credentials") || strings.Contains(string(b), "s3cr3tpw") {
			t.Errorf("%s: %d %s, want 400 naming credentials, without the password", body, resp.StatusCode, b)
		}
	}
}

// TestAPIRefusesNonUTF8Data: event data (or any request body) that is not valid UTF-8 JSON
// text is refused with 400, through the API and the Go API; a valid surrogate pair and
// non-ASCII text pass, byte for byte.
func TestAPIRefusesNonUTF8Data(t *testing.T) {
	rec := newRecorder(t)
	s := openTest(t)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL()})
	post := func(data string) (int, string) {
		resp, err := http.Post(srv.URL+"/messages", "application/json",
			strings.NewReader(`{"endpoint_id":"`+ep.ID+`","type":"order.updated","data":`+data+`}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, data := range []string{
		`{"name":"caf` + "\xe9" + `"}`,   // Latin-1, not UTF-8
		`{"x":"` + "\xff\xfe" + `"}`,     // not UTF-8 at all
		`{"x":"` + "\xed\xa0\x80" + `"}`, // a surrogate encoded in UTF-8 (CESU)
		`{"x":"\ud800"}`,                 // an escaped lone high surrogate
		`{"x":"\udc00 tail"}`,            // an escaped lone low surrogate
		`{"x":"\ud83d\u0041"}`,           // a high surrogate followed by no low one
		`{"k` + "\xc3" + `":1}`,          // a truncated sequence in a key
	} {
		if code, body := post(data); code != 400 || (!strings.Contains(body, "UTF-8") && !strings.Contains(body, "surrogate")) {
			t.Errorf("data %q: %d %s, want 400 naming UTF-8 or the surrogate", data, code, body)
		}
		_, _, err := s.Send(context.Background(), SendRequest{EndpointID: ep.ID, Type: "order.updated", Data: []byte(data)})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Send(%q): %v, want ErrInvalid", data, err)
		}
	}
	for _, data := range []string{`{"emoji":"\ud83d\ude00","name":"café","path":"C:\\u"}`, `{"name":"日本"}`} {
		if code, body := post(data); code != 202 {
			t.Errorf("data %s: %d %s, want 202", data, code, body)
		}
	}
}

// TestBreakerAndGoneSurviveRestart trips one endpoint's breaker and gets a 410 from another,
// closes the sender and opens a new one on the same outbox: the breaker is still open (and
// holds the endpoint's messages, and a failed probe doubles the saved cooldown), and the
// 410 endpoint is still disabled (a new message to it goes straight to dead letters).
func TestBreakerAndGoneSurviveRestart(t *testing.T) {
	forEachOutbox(t, func(t *testing.T, open func(opts ...Option) *Sender) {
		ctx := context.Background()
		clk := newFakeClock()
		failing := newRecorder(t, step{status: 500})
		gone := newRecorder(t, step{status: 410})
		opts := []Option{WithClock(clk.Now), WithJitter(0), WithSchedule(Schedule{0, time.Second, time.Second, time.Second, time.Second, time.Second}),
			WithBreaker(2, time.Hour, 8*time.Hour), WithWorkers(1, 1)}
		s := open(opts...)
		epF := mustEndpoint(t, s, EndpointSpec{URL: failing.URL()})
		epG := mustEndpoint(t, s, EndpointSpec{URL: gone.URL()})
		mF := mustSend(t, s, epF.ID, `{"n":1}`)
		mustSend(t, s, epF.ID, `{"n":2}`)
		mG := mustSend(t, s, epG.ID, `{"n":1}`)
		deliverDue(t, s)
		clk.Advance(2 * time.Second)
		deliverDue(t, s)
		if e, _ := s.Endpoint(ctx, epF.ID); e.Breaker != "open" {
			t.Fatalf("breaker %q before the restart, want open", e.Breaker)
		}
		if e, _ := s.Endpoint(ctx, epG.ID); !e.Disabled {
			t.Fatalf("the 410 endpoint is not disabled before the restart")
		}
		before := len(failing.requests())
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}

		s = open(opts...)
		e, err := s.Endpoint(ctx, epF.ID)
		if err != nil || e.Breaker != "open" {
			t.Errorf("breaker %q (%v) after the restart, want open", e.Breaker, err)
		}
		clk.Advance(30 * time.Minute)
		if n := deliverDue(t, s); n != 0 || len(failing.requests()) != before {
			t.Errorf("%d attempts within the saved cooldown, want 0", n)
		}
		clk.Advance(31 * time.Minute) // past the hour: half-open, one probe; it fails, so two hours
		if n := deliverDue(t, s); n != 1 {
			t.Errorf("%d attempts half-open after the restart, want 1 probe", n)
		}
		clk.Advance(90 * time.Minute)
		if n := deliverDue(t, s); n != 0 {
			t.Errorf("%d attempts 90 min after a failed probe: the doubled cooldown was not kept", n)
		}
		if got := message(t, s, mF.ID); got.Status != Pending {
			t.Errorf("held message %s, want pending", got.Status)
		}
		g, _ := s.Endpoint(ctx, epG.ID)
		if !g.Disabled || !strings.Contains(g.DisabledReason, "410") {
			t.Errorf("the 410 endpoint after the restart: disabled=%v %q", g.Disabled, g.DisabledReason)
		}
		if got := message(t, s, mG.ID); got.Status != Dead {
			t.Errorf("its message %s, want dead", got.Status)
		}
		if m := mustSend(t, s, epG.ID, `{"n":2}`); m.Status != Dead {
			t.Errorf("a new message to the disabled endpoint: %s, want dead", m.Status)
		}
		// Enabling resets the saved breaker too: a restart after it finds it closed.
		if _, err := s.EnableEndpoint(ctx, epF.ID); err != nil {
			t.Fatal(err)
		}
		s.Close(ctx)
		s = open(opts...)
		if e, _ := s.Endpoint(ctx, epF.ID); e.Breaker != "closed" {
			t.Errorf("breaker %q after enable and restart, want closed", e.Breaker)
		}
		s.Close(ctx)
	})
}
