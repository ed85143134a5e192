package reports

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// The fixtures in testdata/*.json stand in for real runs until the suites write them; they
// are made by this generator so they stay coherent (ledger sums, series, histograms):
//
//	go test ./reports -run TestGenerateFixtures -fixtures
var regenFixtures = flag.Bool("fixtures", false, "rewrite testdata/*.json fixtures from the seeded generator")

// fixtureFiles are the realistic runs the report tests render, in report order.
var fixtureFiles = []string{
	"testdata/conform-receiver.json",
	"testdata/conform-sender.json",
	"testdata/load-shard-1.json",
	"testdata/load-shard-2.json",
}

func TestGenerateFixtures(t *testing.T) {
	if !*regenFixtures {
		t.Skip("fixtures are only rewritten with -fixtures")
	}
	base := time.Date(2025, 11, 29, 10, 0, 0, 0, time.UTC)
	write := func(name string, r *Results) {
		t.Helper()
		if err := r.WriteFile(filepath.Join("testdata", name)); err != nil {
			t.Fatal(err)
		}
	}
	write("conform-receiver.json", fixtureReceiver(base))
	write("conform-sender.json", fixtureSender(base.Add(2*time.Minute)))
	s1, s2 := fixtureLoadShards(base.Add(5*time.Minute), 7)
	write("load-shard-1.json", s1)
	write("load-shard-2.json", s2)
	write("xss.json", fixtureXSS(base))
}

func versions() map[string]string {
	return map[string]string{"hookproof": "0.1.0-dev", "go": "go1.26.8", "ginkgo": "v2.34.0", "vegeta": "v12.13.0"}
}

// signedExchange is a delivery as the receiver suite records it.
func signedExchange(note, id string, at time.Time, body string, status int, respBody string, ms float64) Exchange {
	ts := strconv.FormatInt(at.Unix(), 10)
	return Exchange{
		Note:   note,
		Method: http.MethodPost,
		URL:    "http://127.0.0.1:8080/webhooks",
		RequestHeaders: RedactHeaders(http.Header{
			"Content-Type":      {"application/json"},
			"Webhook-Id":        {id},
			"Webhook-Timestamp": {ts},
			"Webhook-Signature": {"v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="},
			"Authorization":     {"Bearer live_9f8e7d6c5b4a"},
			"User-Agent":        {"hookproof/0.1.0-dev"},
		}),
		RequestBody:     fmt.Sprintf(`{"id":%q,"type":"order.updated","timestamp":%q,"data":{"object_id":"ord_8Hq2","seq":3,"total":4200}}`, id, at.Format(time.RFC3339)),
		Status:          status,
		ResponseHeaders: map[string][]string{"Content-Type": {"application/json"}, "Date": {at.Format(http.TimeFormat)}},
		ResponseBody:    respBody,
		DurationMS:      ms,
		At:              at,
	}
}

func fixtureReceiver(t0 time.Time) *Results {
	type c struct {
		id, level, family, req, source string
		outcome                        Outcome
		reason, expected, actual       string
	}
	cases := []c{
		{"RCV-SIG-001", "MUST", "signature", "Accepts a delivery whose v1 signature matches the raw body.", "Standard Webhooks §Verifying", Passed, "", "a 2xx answer", "204 No Content in 4 ms"},
		{"RCV-SIG-002", "MUST", "signature", "Rejects a delivery whose body was changed after signing.", "Standard Webhooks §Verifying", Passed, "", "a 4xx answer and no effect", "401 Unauthorized, no effect"},
		{"RCV-SIG-003", "MUST", "signature", "Rejects a delivery signed with another secret.", "Standard Webhooks §Verifying", Passed, "", "a 4xx answer and no effect", "401 Unauthorized, no effect"},
		{"RCV-SIG-004", "MUST", "signature", "Verifies over the raw bytes, not a re-encoded JSON body.", "Standard Webhooks §Verifying", Passed, "", "a 2xx answer for a body with unusual whitespace and key order", "204 No Content"},
		{"RCV-SIG-005", "MUST", "signature", "Accepts any one valid signature in a list of several.", "Standard Webhooks §Signature header", Passed, "", "a 2xx answer", "204 No Content"},
		{"RCV-SIG-006", "SHOULD", "signature", "Skips signatures of unknown versions instead of failing.", "Standard Webhooks §Signature header", Passed, "", "a 2xx answer", "204 No Content"},
		{"RCV-SIG-007", "MUST", "signature", "Rejects a delivery with no signature header.", "Standard Webhooks §Verifying", Passed, "", "a 4xx answer", "400 Bad Request"},
		{"RCV-TS-001", "MUST", "timestamp", "Rejects a delivery whose timestamp is older than the tolerance (5 min).", "Standard Webhooks §Replay protection", Failed, "the receiver accepted a delivery signed 11 minutes ago",
			"a 4xx answer and no effect for webhook-timestamp = now − 660 s", "200 OK, and the sink saw 1 effect for msg_2ZqM8cWb1Y3"},
		{"RCV-TS-002", "MUST", "timestamp", "Rejects a delivery whose timestamp is too far in the future.", "Standard Webhooks §Replay protection", Passed, "", "a 4xx answer and no effect", "401 Unauthorized"},
		{"RCV-TS-003", "SHOULD", "timestamp", "Accepts a timestamp within the tolerance on both sides (clock skew).", "Standard Webhooks §Replay protection", Passed, "", "a 2xx answer for now ± 240 s", "204 No Content for both"},
		{"RCV-IDEM-001", "MUST", "idempotency", "Processes a delivery re-sent with the same id exactly once.", "Standard Webhooks §Idempotency", Passed, "", "1 distinct effect for 3 deliveries of msg_x", "1 distinct effect"},
		{"RCV-IDEM-002", "MUST", "idempotency", "Processes concurrent duplicates of one delivery exactly once.", "Standard Webhooks §Idempotency", Passed, "", "1 distinct effect for 8 concurrent copies", "1 distinct effect"},
		{"RCV-IDEM-003", "SHOULD", "idempotency", "Answers a duplicate with 2xx so the sender stops retrying.", "Standard Webhooks §Idempotency", Failed, "duplicates are answered 409, which most senders retry",
			"a 2xx answer to the second delivery of msg_dup1", "409 Conflict {\"error\":\"duplicate\"}"},
		{"RCV-ACK-001", "MUST", "acknowledgement", "Acknowledges within 5 seconds, before slow work.", "Standard Webhooks §Responding", Passed, "", "a 2xx answer in < 5 s while the sink is slowed by 10 s", "204 No Content in 31 ms"},
		{"RCV-ACK-002", "SHOULD", "acknowledgement", "Answers a 2xx status without a body larger than 1 KiB.", "Stripe docs: Best practices", Passed, "", "a 2xx with a small body", "204 No Content"},
		{"RCV-ORD-001", "SHOULD", "ordering", "Never applies an older event of one object after a newer one.", "Standard Webhooks §Ordering", NotObservable, "needs the effect sink: run with --sink", "", ""},
		{"RCV-ORD-002", "INFO", "ordering", "Marks stale events as processed but not applied.", "Standard Webhooks §Ordering", NotObservable, "needs the effect sink: run with --sink", "", ""},
		{"RCV-CRASH-001", "MUST", "durability", "Keeps an acknowledged event after a crash and restart.", "hookproof: durability", Skipped, "the target is a URL: crash tests need --image", "", ""},
		{"RCV-STRIPE-001", "MUST", "scheme", "Checks the t= timestamp of Stripe-Signature.", "Stripe docs: Verify signatures", NotApplicable, "scheme is standard, not stripe", "", ""},
		{"RCV-GH-001", "MUST", "scheme", "Compares X-Hub-Signature-256 in constant time.", "GitHub docs: Validating deliveries", NotApplicable, "scheme is standard, not github", "", ""},
		{"RCV-HTTP-001", "SHOULD", "http", "Answers 405 to a GET on the webhook URL.", "RFC 9110 §15.5.6", Passed, "", "405 Method Not Allowed", "405 Method Not Allowed"},
		{"RCV-HTTP-002", "INFO", "http", "Tolerates a Content-Type with charset parameter.", "RFC 9110 §8.3", Passed, "", "a 2xx answer", "204 No Content"},
	}
	r := &Results{Schema: Schema, Kind: KindConformReceiver}
	r.Run = RunMeta{
		Target: "http://127.0.0.1:8080/webhooks", Scheme: "standard", Seed: 42,
		ChaosSpec: "duplicate=0.2,delay=50ms", Started: t0, Finished: t0.Add(47*time.Second + 310*time.Millisecond),
		Versions: versions(),
		Args:     RedactArgs([]string{"conform", "receiver", "--url", "http://127.0.0.1:8080/webhooks", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "--chaos", "duplicate=0.2,delay=50ms"}),
	}
	at := t0
	for i, k := range cases {
		at = at.Add(1300 * time.Millisecond)
		cs := Case{ID: k.id, Level: Level(k.level), Family: k.family, Requirement: k.req, Source: k.source,
			Outcome: k.outcome, Reason: k.reason, Expected: k.expected, Actual: k.actual, DurationMS: float64(40 + i*37%400)}
		switch k.outcome {
		case Passed:
			cs.Evidence = []Exchange{signedExchange("delivery", fmt.Sprintf("msg_%04d", i), at, "", 204, "", 4.2)}
		case Failed:
			if k.id == "RCV-TS-001" {
				old := at.Add(-11 * time.Minute)
				ex := signedExchange("delivery signed 660 s ago", "msg_2ZqM8cWb1Y3", old, "", 200, `{"ok":true}`, 6.8)
				ex.At = at
				cs.Evidence = []Exchange{ex}
			} else {
				cs.Evidence = []Exchange{
					signedExchange("first delivery", "msg_dup1", at, "", 204, "", 5.1),
					signedExchange("same id again", "msg_dup1", at.Add(200*time.Millisecond), "", 409, `{"error":"duplicate"}`, 3.9),
				}
			}
		}
		r.Cases = append(r.Cases, cs)
	}
	r.Chaos = &Chaos{Seed: 42, Spec: "duplicate=0.2,delay=50ms", Requests: 118,
		Counters: map[string]int64{"duplicate": 23, "delay": 118}}
	r.TargetLogs = "2025/11/29 10:00:01 listening on 127.0.0.1:8080\n2025/11/29 10:00:14 POST /webhooks msg_2ZqM8cWb1Y3 200 6ms\n"
	return r
}

func fixtureSender(t0 time.Time) *Results {
	cases := []struct {
		id, level, req string
		outcome        Outcome
		reason, exp    string
		act            string
	}{
		{"SND-SIG-001", "MUST", "Signs every attempt with a fresh webhook-timestamp.", Passed, "", "3 attempts with 3 timestamps", "3 distinct timestamps"},
		{"SND-SIG-002", "MUST", "Signs id.timestamp.body with the endpoint's secret.", Passed, "", "a valid v1 signature", "valid"},
		{"SND-ID-001", "MUST", "Keeps the same webhook-id across retries of one event.", Passed, "", "1 id over 4 attempts", "1 id"},
		{"SND-RETRY-001", "MUST", "Retries after a 5xx answer.", Passed, "", "a second attempt", "second attempt after 1.02 s"},
		{"SND-RETRY-002", "MUST", "Retries after a connection reset.", Passed, "", "a second attempt", "second attempt after 0.98 s"},
		{"SND-RETRY-003", "SHOULD", "Backs off exponentially with jitter between retries.", Failed, "retry gaps are constant", "growing gaps with jitter", "gaps 1.00 s, 1.00 s, 1.00 s, 1.00 s"},
		{"SND-RETRY-004", "SHOULD", "Stops retrying after a 410 Gone.", Passed, "", "no further attempt", "no further attempt in 30 s"},
		{"SND-TIMEOUT-001", "MUST", "Gives up on an attempt that takes longer than 15 s, then retries.", Passed, "", "a retry after the timeout", "retry at 15.0 s"},
		{"SND-ORDER-001", "INFO", "Sends the events of one object in event-time order.", Passed, "", "seq 1, 2, 3", "seq 1, 2, 3"},
		{"SND-REPLAY-001", "SHOULD", "Offers a manual replay of a failed delivery.", Skipped, "no --replay command given", "", ""},
	}
	r := &Results{Schema: Schema, Kind: KindConformSender}
	r.Run = RunMeta{Target: "./bin/sender --listen 127.0.0.1:9100", Scheme: "standard", Seed: 42,
		Started: t0, Finished: t0.Add(1*time.Minute + 12*time.Second), Versions: versions(),
		Args: RedactArgs([]string{"conform", "sender", "--listen", "127.0.0.1:9200", "--secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "--trigger", "./bin/trigger"})}
	for i, k := range cases {
		cs := Case{ID: k.id, Level: Level(k.level), Family: "sender", Requirement: k.req, Source: "Standard Webhooks §Sending",
			Outcome: k.outcome, Reason: k.reason, Expected: k.exp, Actual: k.act, DurationMS: float64(900 + i*211)}
		if k.outcome == Failed {
			for j := range 3 {
				at := t0.Add(time.Duration(10+j) * time.Second)
				cs.Evidence = append(cs.Evidence, Exchange{
					Note: fmt.Sprintf("attempt %d (received)", j+1), Method: http.MethodPost, URL: "http://127.0.0.1:9200/hook",
					RequestHeaders: map[string][]string{"Webhook-Id": {"msg_r1"}, "Webhook-Timestamp": {strconv.FormatInt(at.Unix(), 10)}, "Webhook-Signature": {"v1,3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}},
					RequestBody:    `{"id":"msg_r1","type":"order.updated"}`, Status: 503, ResponseBody: "scripted failure", DurationMS: 0.4, At: at,
				})
			}
		}
		r.Cases = append(r.Cases, cs)
	}
	return r
}

// fixtureLoadShards makes two shards of one 30 s load run at 2 × 100 deliveries/s, with a
// delay spike from the chaos proxy in the middle.
func fixtureLoadShards(t0 time.Time, seed uint64) (*Results, *Results) {
	bounds := []float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}
	mk := func(idx int, start time.Time) *Results {
		rng := rand.New(rand.NewPCG(seed, uint64(idx)))
		l := &Load{Rate: 100, DurationS: 30, Invalid: 0.05, Duplicate: 0.1,
			StatusCodes: map[string]int{}, Errors: map[string]int{}}
		hist := make([]Bucket, len(bounds))
		for i, b := range bounds {
			hist[i].LeMS = b
		}
		var all []float64
		for sec := range 30 {
			p := Point{Second: sec, Codes: map[string]int{}}
			spike := sec >= 12 && sec < 17
			for range 100 {
				// Log-normal ack latency, slowed during the spike.
				lat := math.Exp(rng.NormFloat64()*0.7 + math.Log(11))
				if spike {
					lat *= 6 + rng.Float64()*4
				}
				code := "200"
				switch x := rng.Float64(); {
				case x < 0.05:
					code = "401"
				case spike && x < 0.08:
					code = "503"
				case x < 0.053:
					code = "0"
				}
				p.Sent++
				p.Codes[code]++
				l.StatusCodes[code]++
				switch code {
				case "200":
					p.Acked++
					all = append(all, lat)
					for i := range hist {
						if lat <= hist[i].LeMS || i == len(hist)-1 {
							hist[i].Count++
							break
						}
					}
				case "503":
					p.Errors++
				case "0":
					p.Errors++
					l.Errors["read: connection reset by peer (chaos drop)"]++
				}
			}
			p.P50, p.P90, p.P99 = quantiles(secondLatencies(all, p.Acked))
			l.Series = append(l.Series, p)
		}
		l.Histogram = hist
		l.Latency.P50, l.Latency.P90, l.Latency.P99 = quantiles(all)
		for _, v := range all {
			l.Latency.Mean += v
			l.Latency.Max = max(l.Latency.Max, v)
		}
		l.Latency.Mean /= float64(len(all))
		round := func(v *float64) { *v = math.Round(*v*100) / 100 }
		for _, v := range []*float64{&l.Latency.P50, &l.Latency.P90, &l.Latency.P99, &l.Latency.Mean, &l.Latency.Max} {
			round(v)
		}
		sent := 3000
		invalid := l.StatusCodes["401"]
		valid := sent - invalid
		errs := l.StatusCodes["503"] + l.StatusCodes["0"]
		l.Ledger = Ledger{
			Published: valid, Acked: valid - 2*idx, FailedAfterRetries: 2 * idx, CutOff: 0,
			Attempts: sent + errs + 40, Retries: errs + 40, Effects: valid - 2*idx,
			InvalidSent: invalid, Observed: true,
		}
		errRate := float64(errs) / float64(sent+errs+40) * 100
		l.Thresholds = []Threshold{
			{Expr: "ack_p99<5s", Metric: "ack_p99", Observed: l.Latency.P99, Display: fmtMS(l.Latency.P99), Passed: l.Latency.P99 < 5000},
			{Expr: "lost==0", Metric: "lost", Observed: 0, Display: "0", Passed: true},
			{Expr: "doubled==0", Metric: "doubled", Observed: 0, Display: "0", Passed: true},
			{Expr: "invalid_accepted==0", Metric: "invalid_accepted", Observed: 0, Display: "0", Passed: true},
			{Expr: "error_rate<0.5%", Metric: "error_rate", Observed: errRate, Display: fmt.Sprintf("%.2f%%", errRate), Passed: errRate < 0.5},
		}
		r := &Results{Schema: Schema, Kind: KindLoad, Load: l}
		r.Run = RunMeta{Target: "http://127.0.0.1:8080/webhooks", Scheme: "standard", Seed: int64(seed) + int64(idx),
			ChaosSpec: "drop=0.01,duplicate=0.1,delay=p0.2:80ms,reorder=0.05", Sink: "127.0.0.1:9300",
			Started: start, Finished: start.Add(34 * time.Second), Versions: versions(),
			Shard: &Shard{Index: idx, Count: 2, RunID: "load-20251129-1005"},
			Args:  RedactArgs([]string{"load", "--url", "http://127.0.0.1:8080/webhooks", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "--rate", "100/s", "--duration", "30s", "--shard", fmt.Sprintf("%d/2", idx)})}
		var ledger []json.RawMessage
		for i := range 6 {
			ledger = append(ledger, json.RawMessage(fmt.Sprintf(`{"n":%d,"id":"msg_%d_%d","fault":%q,"status":%d}`, i, idx, i, []string{"none", "duplicate", "delay", "drop", "reorder", "none"}[i], []int{200, 200, 200, 0, 200, 200}[i])))
		}
		r.Chaos = &Chaos{Seed: int64(seed) + int64(idx), Spec: r.Run.ChaosSpec, Requests: int64(l.Ledger.Attempts),
			Counters: map[string]int64{"drop": int64(l.StatusCodes["0"]), "duplicate": int64(290 + 7*idx), "delay": int64(598 + idx), "reorder": int64(140 + 3*idx)},
			Ledger:   ledger}
		return r
	}
	return mk(1, t0), mk(2, t0.Add(400*time.Millisecond))
}

// secondLatencies returns the latencies of the last n acks.
func secondLatencies(all []float64, n int) []float64 { return all[len(all)-n:] }

func quantiles(v []float64) (p50, p90, p99 float64) {
	if len(v) == 0 {
		return 0, 0, 0
	}
	s := append([]float64(nil), v...)
	slices.Sort(s)
	q := func(p float64) float64 { return math.Round(s[int(math.Ceil(p*float64(len(s))))-1]*100) / 100 }
	return q(0.5), q(0.9), q(0.99)
}

// xssPayloads are what a hostile endpoint answers; none of it may run in the report.
var xssPayloads = []string{
	`<script>window.__pwned=1;document.title="pwned"</script>`,
	`</script><script>window.__pwned=2</script>`,
	`"><img src=x onerror="window.__pwned=3">`,
	`</details></td></tr></tbody></table><svg onload="window.__pwned=4">`,
	`javascript:window.__pwned=5`,
	`<style>body{display:none}</style>`,
}

func fixtureXSS(t0 time.Time) *Results {
	r := fixtureReceiver(t0)
	r.Run.Target = `http://127.0.0.1:8080/"><script>window.__pwned=6</script>`
	r.TargetLogs = xssPayloads[0] + "\n" + xssPayloads[2]
	c := &r.Cases[7]
	c.Actual = xssPayloads[1] + " " + xssPayloads[3]
	c.Reason = xssPayloads[2]
	ex := &c.Evidence[0]
	ex.ResponseBody = xssPayloads[0] + xssPayloads[1] + xssPayloads[2] + xssPayloads[3] + xssPayloads[5]
	ex.ResponseHeaders = map[string][]string{
		"X-Evil":                   {xssPayloads[0], xssPayloads[2]},
		`X-"><script>a=1</script>`: {xssPayloads[4]},
		"Content-Type":             {"text/html"},
	}
	ex.Note = xssPayloads[3]
	ex.URL = xssPayloads[4]
	r.Chaos.Counters[`<script>window.__pwned=7</script>`] = 1
	return r
}
