package crash

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hookproof/hookproof/chaos"
	"github.com/hookproof/hookproof/reference/receiver"
	"github.com/hookproof/hookproof/reference/sender"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
)

// SenderOutcome is what a sender drill observed.
type SenderOutcome struct {
	Messages  int // sent through the sender's API, each acknowledged by it
	Delivered int // reported delivered by the sender at the end
	Dead      int // dead letters
	Pending   int // still pending when the wait ended
	// Unprocessed are messages the receiver never processed; Doubled are messages with more
	// than one distinct effect. A few example ids of each are in the lists.
	Unprocessed, Doubled []string
	// SendRetries counts sends repeated (same idempotency key) because the sender was down.
	SendRetries int
	Crash       Crash
	Logs        string // the sender container's output, secrets redacted
}

// Violations lists what the sender (with the reference receiver behind it) got wrong: every
// message must end delivered, and be processed exactly once.
func (o *SenderOutcome) Violations() []string {
	var v []string
	if o.Delivered != o.Messages {
		v = append(v, fmt.Sprintf("%d of %d messages delivered (%d dead, %d pending)", o.Delivered, o.Messages, o.Dead, o.Pending))
	}
	if n := len(o.Unprocessed); n > 0 {
		v = append(v, fmt.Sprintf("%d messages never processed, e.g. %v", n, head(o.Unprocessed, 5)))
	}
	if n := len(o.Doubled); n > 0 {
		v = append(v, fmt.Sprintf("%d messages processed more than once, e.g. %v", n, head(o.Doubled, 5)))
	}
	return v
}

func head(s []string, n int) []string { return s[:min(n, len(s))] }

// SenderCrash runs a sender drill: image runs with args ({port} is the API port, /data the
// data volume) and serves the reference sender's HTTP API. The drill registers an endpoint that
// reaches an in-process reference receiver through the chaos proxy, sends WithMessages messages,
// SIGKILLs the sender while they are being delivered, restarts it, and waits (at most WithDrain)
// until every message is delivered. The container is removed before SenderCrash returns.
func SenderCrash(ctx context.Context, image string, args []string, opts ...Option) (*SenderOutcome, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := sink.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sender drill: %w", err)
	}
	defer srv.Close()

	hookURL, stopReceiver, err := startReceiver(ctx, srv.URL(), cfg)
	if err != nil {
		return nil, fmt.Errorf("sender drill: %w", err)
	}
	defer stopReceiver()

	c, cleanup, err := startEndpoint(ctx, image, args, srv.URL(), cfg)
	if err != nil {
		return nil, fmt.Errorf("sender drill: %w", err)
	}
	defer cleanup()
	api, err := sender.NewClient(fmt.Sprintf("http://127.0.0.1:%d", c.Port()), &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("sender drill: %w", err)
	}
	cfg.logf("sender %s ready on port %d; receiver behind chaos at %s", image, c.Port(), hookURL)

	ep, err := api.CreateEndpoint(ctx, sender.EndpointSpec{URL: hookURL, Secret: cfg.secret, Scheme: cfg.scheme}, "crash-drill-endpoint")
	if err != nil {
		return nil, fmt.Errorf("sender drill: register endpoint: %w", err)
	}
	out := &SenderOutcome{Messages: cfg.messages}
	// Messages are sent while earlier ones are delivered, so the kill also lands on the API:
	// a send that fails is sent again, with the same idempotency key, until the sender is back.
	ids := make([]string, cfg.messages)
	sent := make(chan error, 1)
	sendCtx, stopSends := context.WithCancel(ctx)
	defer stopSends()
	go func() {
		sent <- sendAll(sendCtx, api, ep.ID, ids, cfg.drain, &out.SendRetries)
	}()

	// Kill while deliveries are in flight: a quarter processed, not all.
	col := srv.Collector
	sendsDone := false
	for len(col.Counts()) < max(1, cfg.messages/4) {
		select {
		case err := <-sent:
			if err != nil {
				return nil, fmt.Errorf("sender drill: %w", err)
			}
			sendsDone = true
			sent = nil // every send went through before the kill; nothing more will come
		case <-ctx.Done():
			return nil, fmt.Errorf("sender drill: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	out.Crash.EffectsAtKill = len(col.Counts())
	if out.Crash.EffectsAtKill >= cfg.messages {
		return nil, errors.New("sender drill: every message was processed before the kill: the drill would prove nothing (send more messages or slow the chaos)")
	}
	out.Crash.KilledAt = time.Now()
	if err := c.Kill(ctx); err != nil {
		return nil, fmt.Errorf("sender drill: %w", err)
	}
	cfg.logf("SIGKILL sent with %d of %d messages processed; down for %s", out.Crash.EffectsAtKill, cfg.messages, cfg.downtime)
	sleep(ctx, cfg.downtime)
	if err := c.Restart(ctx); err != nil {
		return nil, fmt.Errorf("sender drill: %w", err)
	}
	out.Crash.RestartedAt = time.Now()
	cfg.logf("restarted after %.1fs", out.Crash.RestartedAt.Sub(out.Crash.KilledAt).Seconds())
	if !sendsDone {
		if err := <-sent; err != nil {
			return nil, fmt.Errorf("sender drill: %w", err)
		}
	}
	cfg.logf("all %d messages accepted by the API (%d sends repeated across the crash)", cfg.messages, out.SendRetries)

	if err := waitDelivered(ctx, api, ids, cfg.drain, out); err != nil {
		return nil, fmt.Errorf("sender drill: %w", err)
	}
	// Every delivered message was acknowledged by the receiver, which reports effects through
	// its outbox: give the last ones time to arrive, then look for gaps and doubles.
	wctx, cancel := context.WithTimeout(ctx, cfg.sinkWait)
	defer cancel()
	for _, id := range ids {
		if col.Distinct(id) == 0 {
			_ = col.WaitDistinct(wctx, id, 1)
		}
	}
	_ = col.WaitQuiet(wctx, 500*time.Millisecond)
	for _, id := range ids {
		switch n := col.Distinct(id); {
		case n == 0:
			out.Unprocessed = append(out.Unprocessed, id)
		case n > 1:
			out.Doubled = append(out.Doubled, id)
		}
	}
	out.Logs = logsOf(ctx, c)
	cfg.logf("messages %d: delivered %d, dead %d, pending %d; unprocessed %d, doubled %d",
		out.Messages, out.Delivered, out.Dead, out.Pending, len(out.Unprocessed), len(out.Doubled))
	return out, nil
}

// sendAll sends len(ids) messages and stores their ids. A failed send (the sender is down) is
// repeated with the same idempotency key every 100 ms, for at most within; retries counts them.
func sendAll(ctx context.Context, api *sender.Client, endpointID string, ids []string, within time.Duration, retries *int) error {
	deadline := time.Now().Add(within)
	for i := range ids {
		data, _ := json.Marshal(map[string]any{"object_id": "ord_" + strconv.Itoa(i%20), "seq": i/20 + 1, "n": i})
		req := sender.SendRequest{EndpointID: endpointID, Type: "order.updated", Data: data}
		for {
			m, err := api.Send(ctx, req, "crash-drill-"+strconv.Itoa(i))
			if err == nil {
				ids[i] = m.ID
				break
			}
			var apiErr *sender.APIError
			if errors.As(err, &apiErr) && apiErr.Status < 500 {
				return fmt.Errorf("send message %d: %w", i, err)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("send message %d: still failing after %s: %w", i, within, err)
			}
			*retries++
			if !sleep(ctx, 100*time.Millisecond) {
				return fmt.Errorf("send message %d: %w", i, ctx.Err())
			}
		}
	}
	return nil
}

// waitDelivered polls the sender until no message is pending, or within ends. A message that
// reached a final state (delivered, dead) is not asked about again.
func waitDelivered(ctx context.Context, api *sender.Client, ids []string, within time.Duration, out *SenderOutcome) error {
	deadline := time.Now().Add(within)
	open := ids
	out.Delivered, out.Dead = 0, 0
	for {
		var still []string
		for _, id := range open {
			m, err := api.Message(ctx, id)
			if err != nil {
				return fmt.Errorf("message %s: %w", id, err)
			}
			switch m.Status {
			case sender.Delivered:
				out.Delivered++
			case sender.Dead:
				out.Dead++
			default:
				still = append(still, id)
			}
		}
		open = still
		out.Pending = len(open)
		if len(open) == 0 || time.Now().After(deadline) {
			return nil
		}
		if !sleep(ctx, 250*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// startReceiver serves the reference receiver, on SQLite in a temp dir and reporting to the
// sink, behind a chaos proxy; it returns the proxy's URL for the sender to deliver to.
func startReceiver(ctx context.Context, sinkURL string, cfg config) (string, func(), error) {
	dir, err := os.MkdirTemp("", "hookproof-crash-receiver-")
	if err != nil {
		return "", nil, err
	}
	scheme, err := signature.New(cfg.scheme, cfg.secret)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	sc, err := sink.NewClient(sinkURL)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	rcv, err := receiver.Open(ctx, scheme, filepath.Join(dir, "receiver.db"), receiver.WithSink(sc))
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	rcvURL, stopRcv, err := serve(ctx, rcv)
	if err != nil {
		_ = rcv.Close(ctx)
		os.RemoveAll(dir)
		return "", nil, err
	}
	specs, err := chaos.ParseSpec(cfg.chaos)
	if err != nil {
		stopRcv()
		_ = rcv.Close(ctx)
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("chaos spec: %w", err)
	}
	proxy, err := chaos.NewProxy(rcvURL, chaos.WithSeed(cfg.seed), chaos.WithFaults(specs...))
	if err != nil {
		stopRcv()
		_ = rcv.Close(ctx)
		os.RemoveAll(dir)
		return "", nil, err
	}
	proxyURL, stopProxy, err := serve(ctx, proxy)
	if err != nil {
		proxy.Close()
		stopRcv()
		_ = rcv.Close(ctx)
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop := func() {
		stopProxy()
		proxy.Close()
		stopRcv()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = rcv.Close(cctx)
		os.RemoveAll(dir)
	}
	return proxyURL + "/hook", stop, nil
}

// serve runs h on a free loopback port until the returned stop is called.
func serve(ctx context.Context, h http.Handler) (string, func(), error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}
	return "http://" + ln.Addr().String(), stop, nil
}
