package load

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Progress is what the live line shows.
type Progress struct {
	Elapsed time.Duration
	Phase   string  // attack, drain, sink
	Rate    float64 // attempts sent per second since the previous line
	Sent    int64
	Acked   int64 // valid events acked
	Errors  int64 // failed attempts of valid deliveries
	P99MS   float64
	HaveP99 bool
}

// String is the progress line, without line ending.
func (p Progress) String() string {
	p99 := "-"
	if p.HaveP99 {
		p99 = formatMS(p.P99MS)
	}
	return fmt.Sprintf("%6.1fs %-6s rate %7.1f/s  sent %d  acked %d  errors %d  p99 %s",
		p.Elapsed.Seconds(), p.Phase, p.Rate, p.Sent, p.Acked, p.Errors, p99)
}

// progress prints the live line: on a terminal one line rewritten in place, otherwise a
// plain line every few seconds, so CI logs stay readable.
type progress struct {
	w     io.Writer
	tty   bool
	every time.Duration
	snap  func() Progress
	stop  chan struct{}
	done  sync.WaitGroup
}

func startProgress(w io.Writer, tty bool, every time.Duration, snap func() Progress) *progress {
	if every <= 0 {
		every = 5 * time.Second
		if tty {
			every = 250 * time.Millisecond
		}
	}
	p := &progress{w: w, tty: tty, every: every, snap: snap, stop: make(chan struct{})}
	p.done.Add(1)
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer p.done.Done()
	t := time.NewTicker(p.every)
	defer t.Stop()
	var lastSent int64
	last := time.Now()
	for {
		select {
		case <-p.stop:
			if p.tty {
				fmt.Fprint(p.w, "\r\x1b[K")
			}
			return
		case now := <-t.C:
			s := p.snap()
			if dt := now.Sub(last).Seconds(); dt > 0 {
				s.Rate = float64(s.Sent-lastSent) / dt
			}
			lastSent, last = s.Sent, now
			if p.tty {
				fmt.Fprintf(p.w, "\r\x1b[K%s", s)
			} else {
				fmt.Fprintln(p.w, s)
			}
		}
	}
}

// close stops the line (clearing it on a terminal) and waits for the printer to return.
func (p *progress) close() {
	if p == nil {
		return
	}
	close(p.stop)
	p.done.Wait()
}
