package sender

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/harness"
	"github.com/onsi/ginkgo/v2"
)

// start opens the case's endpoint with answers and triggers one event to it. A failing
// trigger fails the case with its exit status and stderr.
func (e *env) start(ctx context.Context, c *harness.Check, id string, answers ...Answer) *Script {
	s := e.rv.NewScript(id, answers...)
	e.trigger(ctx, c, s)
	return s
}

// trigger runs the trigger for s once more, recording it as evidence.
func (e *env) trigger(ctx context.Context, c *harness.Check, s *Script) {
	if err := e.tryTrigger(ctx, c, s); err != nil {
		c.Fail("the trigger command exits 0 (it makes the sender emit one event)", err.Error())
	}
}

func (e *env) tryTrigger(ctx context.Context, c *harness.Check, s *Script) error {
	at := time.Now()
	run, err := e.trig.Run(ctx, s.ID, s.URL)
	x := reports.Exchange{Note: "trigger", Method: "EXEC", URL: run.Command, ResponseBody: run.Stdout,
		DurationMS: ms(run.Duration), At: at}
	if err != nil {
		x.Error = err.Error()
	}
	c.Record(x)
	return err
}

// expectAttempts waits until s has n attempts, giving each expected one up to `each` (so a
// schedule that retries within the wait passes however many attempts it takes). It fails
// the case with what came when they do not all come.
func (e *env) expectAttempts(ctx context.Context, c *harness.Check, s *Script, n int, each time.Duration, what string) []Attempt {
	var as []Attempt
	for k := len(s.Attempts()) + 1; k <= n; k++ {
		var err error
		as, err = s.Wait(ctx, k, each, false)
		if err != nil {
			c.Fail(fmt.Sprintf("%s: %d attempts, each within %s of the previous one", what, n, each),
				fmt.Sprintf("%d attempt(s): %s%s", len(as), describe(as), hint(k, each)))
		}
	}
	return s.Attempts()
}

// awaitAttempts is expectAttempts for a case whose premise is a retry: only the first attempt
// is required (a triggered event that never arrives fails the case, as everywhere), while the
// later ones are waited for and returned as they came, complete false when some did not come.
// The case then judges what it has; a missing retry is not its failure (see noRetry).
func (e *env) awaitAttempts(ctx context.Context, c *harness.Check, s *Script, n int, each time.Duration, what string) (as []Attempt, complete bool) {
	e.expectAttempts(ctx, c, s, 1, each, what)
	for k := len(s.Attempts()) + 1; k <= n; k++ {
		if _, err := s.Wait(ctx, k, each, false); err != nil {
			return s.Attempts(), false
		}
	}
	return s.Attempts(), true
}

// noRetry ends the case as not observable: the retry it looks at did not come, which is the
// failure of the case named by see (retrying is that case's requirement, not this one's).
func (e *env) noRetry(as []Attempt, want int, each time.Duration, see string) {
	// The console shows about 48 characters of a reason: the premise and the case come first.
	harness.NotObservable("no retry observed to look at; see %s (%d of %d attempts, each waited for %s: %s)",
		see, len(as), want, each, describe(as))
}

func hint(k int, each time.Duration) string {
	if k <= 1 {
		return " (nothing arrived: did the trigger make the sender emit an event?)"
	}
	return fmt.Sprintf(" (no attempt %d within %s: no retry, or a schedule slower than --retry-wait; compress it, see README)", k, each)
}

// describe lists attempts as "#1 at +0ms: 500; #2 at +104ms: 200".
func describe(as []Attempt) string {
	if len(as) == 0 {
		return "none"
	}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = fmt.Sprintf("#%d at +%s: %s", a.N, a.At.Sub(as[0].At).Round(time.Millisecond), outcome(a))
	}
	return strings.Join(parts, "; ")
}

func outcome(a Attempt) string {
	if !a.Answered {
		return "no answer yet"
	}
	if a.GaveUp {
		return fmt.Sprintf("sender gave up after %s", a.AnsweredAt.Sub(a.At).Round(time.Millisecond))
	}
	return a.Answer.describe()
}

// evidence records s's attempts (and followed redirects) into the case; cases defer it so a
// failure keeps them too.
func (e *env) evidence(c *harness.Check, s *Script) {
	all := append(s.Attempts(), s.Moved()...)
	for _, a := range all {
		note := fmt.Sprintf("attempt %d: answered %s", a.N, outcome(a))
		if a.Moved {
			note = "followed redirect"
		}
		x := reports.Exchange{
			Note:           note,
			Method:         a.Method,
			URL:            a.URL,
			RequestHeaders: harness.CutHeaders(reports.RedactHeaders(a.Header)),
			RequestBody:    reports.RedactString(reports.Excerpt(a.Body, 2<<10), e.o.Secret, e.o.PreviousSecret),
			DurationMS:     ms(a.AnsweredAt.Sub(a.At)),
			At:             a.At,
		}
		switch {
		case !a.Answered:
			x.Error = "still unanswered when the case ended"
		case a.GaveUp:
			x.Error = "the sender closed the connection before an answer"
		case a.Answer.Reset:
			x.Error = "hookproof reset the connection"
		default:
			x.Status = a.Answer.status()
			if len(a.Answer.Header) > 0 {
				x.ResponseHeaders = map[string][]string{}
				for k, v := range a.Answer.Header {
					x.ResponseHeaders[k] = []string{strings.ReplaceAll(v, "{moved}", s.URL+"/moved")}
				}
			}
		}
		c.Record(x)
	}
}

// expectAnswered waits until the first n attempts are answered (a held one until the sender
// gives up), failing the case if one is still held after within.
func (e *env) expectAnswered(ctx context.Context, c *harness.Check, s *Script, n int, within time.Duration) []Attempt {
	as, err := s.WaitAnswered(ctx, n, within)
	if err != nil {
		c.Fail(fmt.Sprintf("attempt %d answered or given up on within %s", n, within), describe(as))
	}
	return as
}

// quiet waits d and fails the case if s got more than n attempts (or a followed redirect).
func (e *env) quiet(ctx context.Context, c *harness.Check, s *Script, n int, d time.Duration, expected string) {
	as, err := s.Wait(ctx, n+1, d, true)
	if err == nil {
		c.Fail(expected, fmt.Sprintf("%d attempt(s) within %s: %s", len(as), d, describe(as)))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// idOf reads a delivery id by signature.DeliveryID's rule: the scheme's id header, else the
// body's top-level "id".
func (e *env) idOf(h http.Header, body []byte) string {
	return signature.DeliveryID(e.scheme.Name(), h, body)
}

// timestampOf reads the signed timestamp of an attempt (unix seconds); ok is false when the
// scheme signs none or the attempt carries none that parses.
func (e *env) timestampOf(a Attempt) (int64, bool) {
	v, ok := signature.AnatomyOf(e.scheme).SignedTimestamp(a.Header)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n, err == nil && n > 0
}

// verifyAt checks a's signature with secret as of its arrival, at the scheme's tolerance.
func (e *env) verifyAt(a Attempt, secret string) error {
	sc, err := signature.New(e.o.Scheme, secret, signature.WithClock(func() time.Time { return a.At }))
	if err != nil {
		return err
	}
	_, err = sc.Verify(a.Header, a.Body)
	return err
}

// spec registers a case with a spec timeout fitting the suite's waits.
func (e *env) spec(id string, body harness.Body, extra time.Duration) {
	d := 6*e.o.RetryWait + 2*e.o.Quiet + extra + 30*time.Second
	harness.Case(id, body, ginkgo.SpecTimeout(d))
}
