package sender_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookproof/hookproof/chaos"
	"github.com/hookproof/hookproof/reference/receiver"
	refsender "github.com/hookproof/hookproof/reference/sender"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
)

// TestEndToEndExactlyOnce delivers a batch of events from the reference sender, through the
// chaos proxy (drops, lost acks, duplicates, reordering; fixed seed), to the reference receiver,
// which reports each processed event to an effect sink. The sender retries what failed or went
// unacknowledged, the receiver deduplicates: every message ends delivered and has exactly one
// effect.
//
//	reference sender ─▶ chaos proxy ─▶ reference receiver ─effects─▶ sink
func TestEndToEndExactlyOnce(t *testing.T) {
	t.Parallel()
	const (
		objects  = 10
		perObj   = 10
		total    = objects * perObj
		spec     = "drop=0.1,lost-ack=0.1,duplicate=0.1,reorder=0.1"
		seed     = 20261129
		deadline = 90 * time.Second
	)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	dir := t.TempDir()

	sinkSrv, err := sink.Listen(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer sinkSrv.Close()
	sc, err := signature.New("standard", builtinSecret)
	if err != nil {
		t.Fatal(err)
	}
	skc, err := sink.NewClient(sinkSrv.URL())
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := receiver.Open(ctx, sc, filepath.Join(dir, "receiver.db"), receiver.WithSink(skc))
	if err != nil {
		t.Fatal(err)
	}
	rsrv := httptest.NewServer(rcv)
	defer func() {
		rsrv.Close()
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		rcv.Close(cctx)
	}()
	specs, err := chaos.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := chaos.NewProxy(rsrv.URL, chaos.WithSeed(seed), chaos.WithFaults(specs...))
	if err != nil {
		t.Fatal(err)
	}
	psrv := httptest.NewServer(proxy)
	defer func() { psrv.Close(); proxy.Close() }()

	// A compressed schedule with enough attempts that a 0.1 chance of loss per hop cannot
	// exhaust it (ten attempts all failing: about 1e-7 per message).
	sch, _ := refsender.ParseSchedule("0s,50ms,100ms,200ms,400ms,800ms,1s,1s,1s,1s")
	snd, err := refsender.Open(ctx, filepath.Join(dir, "sender.db"), refsender.WithSchedule(sch),
		refsender.WithRequestTimeout(5*time.Second), refsender.WithSeed(seed), refsender.WithAllowPrivate())
	if err != nil {
		t.Fatal(err)
	}
	snd.Start()
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		snd.Close(cctx)
	}()
	ep, _, err := snd.CreateEndpoint(ctx, refsender.EndpointSpec{URL: psrv.URL + "/hook", Secret: builtinSecret})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, total)
	for seq := 1; seq <= perObj; seq++ {
		for o := range objects {
			m, _, err := snd.Send(ctx, refsender.SendRequest{EndpointID: ep.ID, Type: "order.updated",
				Data: []byte(fmt.Sprintf(`{"object_id":"ord_%d","seq":%d}`, o, seq))})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
		}
	}

	// Every message delivered (acknowledged through the proxy) and given its effect.
	for _, id := range ids {
		for {
			m, err := snd.Message(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if m.Status == refsender.Delivered {
				break
			}
			if m.Status == refsender.Dead {
				t.Fatalf("message %s dead-lettered: %s", id, m.DeadReason)
			}
			select {
			case <-ctx.Done():
				t.Fatalf("message %s still %s after %s (%d attempts)", id, m.Status, deadline, m.Attempts)
			case <-time.After(20 * time.Millisecond):
			}
		}
		if err := sinkSrv.Collector.WaitDistinct(ctx, id, 1); err != nil {
			t.Fatalf("acknowledged message with no effect: %v", err)
		}
	}
	// Late duplicates and replays settle, then the books must balance exactly.
	qctx, qcancel := context.WithTimeout(ctx, 10*time.Second)
	defer qcancel()
	sinkSrv.Collector.WaitQuiet(qctx, 500*time.Millisecond)

	counts := sinkSrv.Collector.Counts()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
		if n := counts[id]; n != 1 {
			t.Errorf("message %s: %d distinct effects, want exactly 1", id, n)
		}
	}
	for id := range counts {
		if !want[id] {
			t.Errorf("effect for %s, which was never sent", id)
		}
	}
	st := proxy.Stats()
	attempts := 0
	for _, id := range ids {
		as, _ := snd.Attempts(ctx, id)
		attempts += len(as)
	}
	for _, f := range []string{"drop", "lost-ack", "duplicate", "reorder"} {
		if st.Faults[f] == 0 {
			t.Errorf("chaos fault %s never fired (faults %v): the test proves nothing about it", f, st.Faults)
		}
	}
	t.Logf("%d messages, %d attempts by the sender, %d requests at the proxy, faults %v, %d effect reports (%d distinct ids)",
		total, attempts, st.Requests, st.Faults, sinkSrv.Collector.Total(), len(counts))
}
