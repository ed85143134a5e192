package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/reference/sender"
	"github.com/hookproof/hookproof/reference/signature"
)

// sender serves the reference sender (durable outbox, signed retries, replay, dead letters);
// "sender send" is its client: it registers an endpoint and sends one event through the API,
// which makes it a ready-made trigger for "conform sender".
func init() {
	register(command{
		name:    "sender",
		summary: "serve the reference webhook sender (durable outbox, retries, replay); 'sender send' sends one event",
		run:     runSender,
	})
}

const (
	senderUsage     = "--listen ADDR [--db PATH|postgres://…] [--allow-private | --allow-cidr CIDR...] [--schedule 0s,5s,5m,...] [--timeout 15s] [--seed N] ...\n       hookproof sender send --api URL --url URL [--secret S] [--scheme standard] [--type T] [--data JSON] ..."
	senderSendUsage = "--api URL (--url URL | --endpoint ID) [--secret S] [--scheme standard] [--previous-secret S]... [--type T] [--data JSON] [--idempotency-key K]"
)

func runSender(ctx context.Context, e *env, args []string) int {
	if len(args) > 0 && args[0] == "send" {
		return exitCode(e, "sender send", senderSend(ctx, e, args[1:]))
	}
	return exitCode(e, "sender", serveSender(ctx, e, args))
}

func serveSender(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "sender", senderUsage)
	listen := fs.String("listen", "127.0.0.1:8081", "address of the API")
	db := fs.String("db", "hookproof-sender.db",
		"outbox: a SQLite file (created 0600; it holds endpoint secrets), or postgres://… shared by several sender replicas")
	allowPrivate := fs.Bool("allow-private", false,
		"deliver to loopback, private, link-local, CGNAT and other special-purpose addresses too (the SSRF guard refuses them by default); for tests and demos on one machine")
	var allowCIDR multiFlag
	fs.Var(&allowCIDR, "allow-cidr", "a CIDR the SSRF guard lets deliveries reach although it is private (e.g. 10.20.0.0/16 for an internal receiver); repeatable")
	schedule := fs.String("schedule", sender.DefaultSchedule.String(),
		"retry schedule: the delay before each attempt, comma-separated; e.g. 0s,100ms,200ms,400ms for tests")
	timeout := fs.Duration("timeout", sender.DefaultRequestTimeout, "request timeout of each attempt")
	jitter := fs.Float64("jitter", sender.DefaultJitter, "jitter fraction: each delay d is drawn from [d(1-j), d(1+j)]")
	seed := fs.Int64("seed", 0, "seed of the jitter (0: pick one and print it)")
	workers := fs.Int("workers", sender.DefaultWorkers, "attempts in flight in all")
	perEndpoint := fs.Int("per-endpoint", sender.DefaultPerEndpoint, "attempts in flight per endpoint")
	disableAfter := fs.Duration("disable-after", sender.DefaultDisableAfter,
		"disable an endpoint (and call its failure_notification_url) after it failed this long without a success; 0 never")
	breakerN := fs.Int("breaker-threshold", sender.DefaultBreakerThreshold, "consecutive failures that open an endpoint's circuit breaker; 0 turns it off")
	breakerCool := fs.Duration("breaker-cooldown", sender.DefaultBreakerCooldown, "how long an open breaker holds an endpoint's messages")
	maxRetryAfter := fs.Duration("max-retry-after", sender.DefaultMaxRetryAfter, "cap on the Retry-After a 429 or 503 can impose")
	drainFor := fs.Duration("drain-timeout", 30*time.Second, "on Ctrl-C, how long to wait for attempts under way")
	verbose := fs.Bool("v", false, "log every attempt decision")
	metricsAddr := metricsFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (did you mean 'hookproof sender send'?)", fs.Arg(0))
	}
	allowed, err := sender.ParseCIDRs(allowCIDR)
	if err != nil {
		return usagef("--allow-cidr: %v", err)
	}
	sch, err := sender.ParseSchedule(*schedule)
	if err != nil {
		return usagef("--schedule: %v", err)
	}
	if *seed == 0 {
		*seed = randomSeed()
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	maxCool := max(sender.DefaultBreakerMax, *breakerCool)
	reg := prometheus.NewRegistry()
	opts := []sender.Option{
		sender.WithSchedule(sch), sender.WithRequestTimeout(*timeout), sender.WithJitter(*jitter), sender.WithSeed(*seed),
		sender.WithWorkers(*workers, *perEndpoint), sender.WithDisableAfter(*disableAfter),
		sender.WithBreaker(*breakerN, *breakerCool, maxCool), sender.WithMaxRetryAfter(*maxRetryAfter), sender.WithLogger(log),
		sender.WithAllowedCIDRs(allowed...),
		sender.WithMetrics(reg),
	}
	guard := "SSRF guard on"
	switch {
	case *allowPrivate:
		opts = append(opts, sender.WithAllowPrivate())
		guard = "SSRF guard off: --allow-private"
	case len(allowed) > 0:
		guard = "SSRF guard on, allowing " + strings.Join(allowCIDR, ", ")
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		return harnessError{fmt.Errorf("listen on %s: %w", *listen, err)}
	}
	s, err := sender.Open(ctx, *db, opts...)
	if err != nil {
		ln.Close()
		if errors.Is(err, sender.ErrInvalid) {
			return usagef("%v", err)
		}
		return harnessError{fmt.Errorf("open the outbox at %s: %w", sender.RedactDSN(*db), err)}
	}
	s.Start()
	fmt.Fprintf(e.stdout, "hookproof sender: listening on http://%s (db %s, schedule %s, timeout %s, seed %d, %s)\n",
		ln.Addr(), sender.RedactDSN(*db), sch, *timeout, *seed, guard)
	ms, err := startMetrics(ctx, e, "sender", *metricsAddr, reg)
	if err != nil {
		ln.Close()
		s.Close(ctx)
		return err
	}
	defer ms.close()

	return serveGracefully(ctx, e, ln, s.Handler(), s.Close, *drainFor, gracefulText{
		stopping: "hookproof sender: shutting down, waiting for attempts under way",
		failed:   "shut down (interrupted attempts are retried on the next start)",
		done:     "hookproof sender: stopped",
	})
}

// senderSend registers (or reuses) an endpoint for --url and sends one event to it. The
// endpoint registration is idempotent on (url, scheme, secrets), so running it once per event
// reuses one endpoint per URL.
func senderSend(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "sender send", senderSendUsage)
	api := fs.String("api", "http://127.0.0.1:8081", "base URL of the reference sender's API")
	target := fs.String("url", "", "URL to deliver to (an endpoint is registered for it, once)")
	endpointID := fs.String("endpoint", "", "id of an endpoint already registered, instead of --url")
	secret := fs.String("secret", "", "endpoint secret (default: $"+secretEnv+")")
	schemeName := fs.String("scheme", "standard", "signature scheme: "+strings.Join(signature.Names(), ", "))
	var previous multiFlag
	fs.Var(&previous, "previous-secret", "a previous secret still signed with (rotation); repeatable")
	notify := fs.String("failure-notification-url", "", "URL told when the endpoint gets disabled")
	eventType := fs.String("type", "hookproof.test", "event type")
	data := fs.String("data", "{}", "event data: a JSON object")
	key := fs.String("idempotency-key", "", "Idempotency-Key of the send (default: a random one)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if (*target == "") == (*endpointID == "") {
		return usagef("give exactly one of --url and --endpoint")
	}
	if !json.Valid([]byte(*data)) {
		return usagef("--data: not valid JSON")
	}
	c, err := sender.NewClient(*api, nil)
	if err != nil {
		return usagef("--api: %v", err)
	}
	id := *endpointID
	if id == "" {
		if *secret == "" && e.getenv != nil {
			*secret = e.getenv(secretEnv)
		}
		if *secret == "" {
			return usagef("no secret: pass --secret or set %s", secretEnv)
		}
		spec := sender.EndpointSpec{URL: *target, Secret: *secret, Scheme: *schemeName,
			PreviousSecrets: previous, FailureNotificationURL: *notify}
		ep, err := c.CreateEndpoint(ctx, spec, endpointKey(spec))
		if err != nil {
			return apiError("register the endpoint", err)
		}
		id = ep.ID
	}
	k := *key
	if k == "" {
		var b [12]byte
		rand.Read(b[:])
		k = "hookproof-send-" + hex.EncodeToString(b[:])
	}
	m, err := c.Send(ctx, sender.SendRequest{EndpointID: id, Type: *eventType, Data: json.RawMessage(*data)}, k)
	if err != nil {
		return apiError("send", err)
	}
	out, _ := json.Marshal(map[string]string{"message_id": m.ID, "endpoint_id": m.EndpointID, "status": string(m.Status)})
	fmt.Fprintln(e.stdout, string(out))
	return nil
}

// endpointKey derives the registration's Idempotency-Key from what defines the endpoint, so
// the secret itself never travels as a key (only a hash of it does).
func endpointKey(spec sender.EndpointSpec) string {
	h := sha256.New()
	for _, p := range append([]string{spec.URL, spec.Scheme, spec.Secret, spec.FailureNotificationURL}, spec.PreviousSecrets...) {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return "hookproof-endpoint-" + hex.EncodeToString(h.Sum(nil))[:40]
}

// apiError maps an API answer to an exit code: the API refusing the request (4xx) is bad
// usage; no answer, or a 5xx, means the harness could not run.
func apiError(what string, err error) error {
	var ae *sender.APIError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
		return usagef("%s: %v", what, err)
	}
	return harnessError{fmt.Errorf("%s: %w", what, err)}
}
