package sender

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/signature"
)

// responseExcerpt bounds how much of an answer is kept; drainLimit how much more is read so
// the connection can be reused.
const (
	responseExcerpt = 512
	drainLimit      = 64 << 10
)

// attempt makes one delivery attempt of j and records it.
func (s *Sender) attempt(j job) {
	outcome := Interrupted
	defer func() { s.release(j, outcome) }()
	// Database writes outlive a cancelled run: the answer that came must be recorded.
	dbctx, cancel := context.WithTimeout(context.WithoutCancel(s.runCtx), 30*time.Second)
	defer cancel()
	ep, err := s.st.endpoint(dbctx, s.st.db, j.endpointID)
	if err != nil {
		s.log.Warn("attempt skipped", "message", j.msgID, "err", err)
		s.st.unclaim(dbctx, j.msgID)
		return
	}
	if ep.Disabled {
		s.st.unclaim(dbctx, j.msgID)
		return // its messages were dead-lettered when it was disabled
	}
	started := s.now()
	n := j.attempts + 1
	var hdr http.Header
	sc, err := newScheme(ep.Scheme, ep.secret, ep.activePrevious(started), s.cfg.now)
	if err == nil {
		hdr, err = sc.Sign(signature.Message{ID: j.msgID, Timestamp: started, Body: j.body})
	}
	// The in-flight record is written while the request goes out, not before: its fsync
	// would otherwise add to every retry's delay. It only marks the attempt for the next
	// process; the message is pending and due until finishAttempt says otherwise, so a crash
	// before this write commits still leads to another attempt.
	begun := make(chan error, 1)
	go func() { begun <- s.st.beginAttempt(dbctx, j.msgID, n, started, started.Unix(), ep.URL) }()
	a := Attempt{MessageID: j.msgID, N: n, StartedAt: started, URL: ep.URL}
	if err != nil {
		a.Outcome, a.Error = Failure, "cannot sign: "+err.Error()
	} else {
		s.send(s.runCtx, ep.URL, hdr, j.body, &a)
	}
	ended := s.now()
	if err := <-begun; err != nil {
		s.log.Warn("attempt not recorded; the message will be attempted again", "message", j.msgID, "err", err)
		s.st.unclaim(dbctx, j.msgID)
		return
	}
	a.DurationMS = float64(ended.Sub(started).Microseconds()) / 1000
	outcome = a.Outcome
	ch, err := s.st.finishAttempt(dbctx, a, ended, newID("ntf_"), func(st msgState) change {
		return s.decide(a, st, ended)
	})
	if err != nil {
		s.log.Warn("attempt not recorded; the message will be attempted again", "message", j.msgID, "err", err)
		return
	}
	s.m.recorded(a)
	s.afterAttempt(dbctx, j, a, ch, ended)
}

// send posts body to target and fills a's status, outcome, error and Retry-After.
func (s *Sender) send(ctx context.Context, target string, hdr http.Header, body []byte, a *Attempt) {
	actx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		a.Outcome, a.Error = Failure, "bad request: "+err.Error()
		return
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.cfg.userAgent)
	resp, err := s.client.Do(req)
	if err == nil {
		var excerpt []byte
		excerpt, err = io.ReadAll(io.LimitReader(resp.Body, responseExcerpt))
		if err == nil {
			_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
		}
		resp.Body.Close()
		a.StatusCode = resp.StatusCode
		a.Response = printable(excerpt)
		// The status is the answer; a body cut short after it does not change it, except
		// by our own timeout, which means the endpoint did not answer in time.
		if err != nil && actx.Err() == nil {
			err = nil
		}
		if err == nil {
			a.Outcome, a.Error, a.RetryAfterMS = classify(resp, s.now(), s.cfg.maxRetryAfter)
			return
		}
	}
	switch {
	case ctx.Err() != nil:
		a.Outcome, a.Error = Interrupted, "the sender stopped before an answer came"
	case errors.Is(actx.Err(), context.DeadlineExceeded):
		a.Outcome, a.Error = Failure, fmt.Sprintf("no answer within the request timeout (%s)", s.cfg.timeout)
	default:
		a.Outcome, a.Error = Failure, transportError(err)
	}
}

// classify turns an answer into an outcome: only 2xx succeeds; 410 disables the endpoint;
// 429 and 503 may carry a Retry-After (returned in ms, capped); anything else, 3xx included,
// is a failure to retry.
func classify(resp *http.Response, now time.Time, maxRetryAfter time.Duration) (Outcome, string, int64) {
	code := resp.StatusCode
	switch {
	case code >= 200 && code <= 299:
		return Success, "", 0
	case code == http.StatusGone:
		return Gone, "410 Gone: the endpoint asked to stop", 0
	case code >= 300 && code <= 399:
		msg := fmt.Sprintf("%d redirect not followed", code)
		if loc := resp.Header.Get("Location"); loc != "" {
			msg += " (Location: " + truncate(printable([]byte(loc)), 200) + "); update the endpoint URL instead"
		}
		return Failure, msg, 0
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		msg := fmt.Sprintf("status %d", code)
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			ra = min(ra, maxRetryAfter)
			return Failure, msg + fmt.Sprintf(", Retry-After %s", ra), ra.Milliseconds()
		}
		return Failure, msg, 0
	}
	return Failure, fmt.Sprintf("status %d", code), 0
}

// transportError describes a failed request without repeating the URL (which may carry a token).
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, ErrRefusedDestination):
		return "refused by the SSRF guard, no connection made: " + err.Error()
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout: " + err.Error()
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer: " + err.Error()
	}
	return "transport: " + err.Error()
}

// printable keeps b as valid UTF-8 without control characters, for storage and display.
func printable(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return '\uFFFD'
		}
		return r
	}, s)
}

// decide is the retry policy: it turns an attempt's outcome and the message's state into the
// message's next state. It runs inside finishAttempt's transaction.
func (s *Sender) decide(a Attempt, st msgState, now time.Time) change {
	keep := change{status: st.status, failures: st.failures, nextAt: st.nextAt, deadReason: st.deadReason,
		failingSince: st.failingSince}
	switch a.Outcome {
	case Interrupted:
		return keep
	case Success:
		return change{status: Delivered, failures: st.failures}
	case Gone:
		keep.disable = "the endpoint answered 410 Gone"
		if st.status == Pending {
			keep.status, keep.deadReason = Dead, keep.disable
		}
		return keep
	}
	if keep.failingSince.IsZero() {
		keep.failingSince = a.StartedAt
	}
	if st.status != Pending { // dead-lettered or delivered while this attempt was under way
		return keep
	}
	keep.failures++
	if s.cfg.disableAfter > 0 && now.Sub(keep.failingSince) >= s.cfg.disableAfter {
		keep.disable = fmt.Sprintf("every attempt failed since %s, for longer than %s",
			keep.failingSince.Format(time.RFC3339), s.cfg.disableAfter)
		keep.status, keep.deadReason = Dead, keep.disable
		return keep
	}
	if keep.failures >= len(s.cfg.schedule) {
		keep.status = Dead
		keep.deadReason = fmt.Sprintf("all %d attempts of the schedule failed; last: %s", len(s.cfg.schedule), a.Error)
		return keep
	}
	s.mu.Lock()
	delay, _ := s.cfg.schedule.Next(keep.failures, s.cfg.jitter, time.Duration(a.RetryAfterMS)*time.Millisecond, s.rng)
	s.mu.Unlock()
	keep.nextAt = now.Add(delay)
	return keep
}

// afterAttempt updates the endpoint's breaker and logs what changed.
func (s *Sender) afterAttempt(ctx context.Context, j job, a Attempt, ch change, now time.Time) {
	if a.Outcome == Interrupted {
		return
	}
	s.mu.Lock()
	b := s.breakerLocked(j.endpointID)
	wasOpen := !b.openUntil.IsZero()
	opened, until := b.record(a.Outcome == Success, j.probe, now,
		s.cfg.breakerThreshold, s.cfg.breakerCooldown, s.cfg.breakerMax)
	// Persist what a restart must not forget: the breaker opening, and closing again.
	// (disableTx clears it with the endpoint.) Failures below the threshold are not written.
	closedAgain := wasOpen && b.openUntil.IsZero()
	saved := breakerRow{failures: b.failures, openUntil: b.openUntil, cooldown: b.cooldown}
	if ch.disable != "" {
		delete(s.breakers, j.endpointID)
		opened, closedAgain = false, false
	}
	s.mu.Unlock()
	if opened || closedAgain {
		if err := s.st.saveBreaker(ctx, j.endpointID, saved); err != nil {
			s.log.Warn("breaker state not saved", "endpoint", j.endpointID, "err", err)
		}
	}
	switch {
	case ch.disable != "":
		s.log.Warn("endpoint disabled", "endpoint", j.endpointID, "reason", ch.disable)
		s.poke() // its failure notification is due
	case ch.status == Dead && a.Outcome != Success:
		s.log.Warn("message dead-lettered", "message", j.msgID, "reason", ch.deadReason)
	}
	if opened {
		s.log.Warn("circuit breaker open", "endpoint", j.endpointID, "until", until.Format(time.RFC3339Nano))
		if err := s.st.deferEndpoint(ctx, j.endpointID, until); err != nil {
			s.log.Warn("breaker could not hold messages", "endpoint", j.endpointID, "err", err)
		}
	}
}

// notification is the data of the "endpoint.disabled" event sent to a failure notification URL.
type notification struct {
	EndpointID   string    `json:"endpoint_id"`
	URL          string    `json:"url"`
	Reason       string    `json:"reason"`
	DisabledAt   time.Time `json:"disabled_at"`
	FailingSince time.Time `json:"failing_since,omitzero"`
}

// sendNotice tells an endpoint's failure notification URL that the endpoint was disabled: an
// "endpoint.disabled" event, signed like the endpoint's deliveries, retried a few times on
// the endpoint's schedule.
func (s *Sender) sendNotice(n notice) {
	defer func() {
		s.mu.Lock()
		delete(s.notifying, n.endpoint.ID)
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.runCtx), 30*time.Second)
	defer cancel()
	e := n.endpoint
	data, _ := json.Marshal(notification{EndpointID: e.ID, URL: e.URL, Reason: e.DisabledReason,
		DisabledAt: e.DisabledAt, FailingSince: e.FailingSince})
	body, _ := json.Marshal(event.Envelope{ID: n.id, Type: "endpoint.disabled", Timestamp: e.DisabledAt, Data: data})
	now := s.now()
	a := Attempt{MessageID: n.id}
	sc, err := newScheme(e.Scheme, e.secret, e.activePrevious(now), s.cfg.now)
	if err == nil {
		var hdr http.Header
		if hdr, err = sc.Sign(signature.Message{ID: n.id, Timestamp: now, Body: body}); err == nil {
			s.send(s.runCtx, e.FailureNotificationURL, hdr, body, &a)
		}
	}
	if err != nil {
		a.Outcome, a.Error = Failure, "cannot sign: "+err.Error()
	}
	if a.Outcome == Interrupted {
		return // still pending; the next process sends it
	}
	attempts := n.attempts + 1
	state, next := "sent", time.Time{}
	if a.Outcome != Success {
		state = "pending"
		if attempts >= s.cfg.notifyAttempts {
			state = "failed"
		} else {
			s.mu.Lock()
			next = s.now().Add(jittered(s.cfg.schedule[min(attempts, len(s.cfg.schedule)-1)], s.cfg.jitter, s.rng))
			s.mu.Unlock()
		}
	}
	if err := s.st.finishNotice(ctx, e.ID, state, attempts, next, a.Error); err != nil {
		s.log.Warn("notification not recorded", "endpoint", e.ID, "err", err)
		return
	}
	s.log.Info("failure notification", "endpoint", e.ID, "state", state, "attempt", attempts, "err", a.Error)
}
