package observe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hookproof/hookproof/reference/sink"
)

// MaxLineBytes bounds one log line; a longer line is skipped without being held in memory.
const MaxLineBytes = 1 << 20

// PollInterval is how often FollowFile looks for appended lines.
const PollInterval = 50 * time.Millisecond

// CloseTimeout bounds every Close of a source.
const CloseTimeout = 2 * time.Second

// stderrTail is how much of a command's stderr an exit error quotes.
const stderrTail = 2048

// LogMatcher turns log lines into effects with a regular expression. It is safe for
// concurrent use.
type LogMatcher struct {
	re                  *regexp.Regexp
	id, effect, applied int // submatch indexes; -1: no such group
}

// NewLogMatcher compiles pattern, a Go regular expression with a named group id and optional
// groups effect and applied. Its errors wrap ErrConfig.
func NewLogMatcher(pattern string) (*LogMatcher, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, &configError{msg: fmt.Sprintf("log pattern %q: %s", pattern, err)}
	}
	m := &LogMatcher{re: re, id: re.SubexpIndex("id"), effect: re.SubexpIndex("effect"), applied: re.SubexpIndex("applied")}
	if m.id < 0 {
		return nil, &configError{msg: fmt.Sprintf("log pattern %q has no group named id: mark the delivery id with (?P<id>…), e.g. `processed webhook (?P<id>\\S+)`", pattern)}
	}
	return m, nil
}

// String returns the pattern.
func (m *LogMatcher) String() string { return m.re.String() }

// Match returns the effect that line reports. ok is false for a line that does not match, one
// whose id is empty, and one whose applied value is unreadable (a parse problem: see the
// package doc; followers count and report those).
func (m *LogMatcher) Match(line string) (sink.Effect, bool) {
	e, ok, _ := m.match(line)
	return e, ok
}

func (m *LogMatcher) match(line string) (sink.Effect, bool, error) {
	at := m.re.FindStringSubmatchIndex(line)
	if at == nil {
		return sink.Effect{}, false, nil
	}
	group := func(i int) (string, bool) {
		if i < 0 || at[2*i] < 0 {
			return "", false
		}
		return line[at[2*i]:at[2*i+1]], true
	}
	id, _ := group(m.id)
	if id == "" {
		return sink.Effect{}, false, nil
	}
	e := sink.Effect{WebhookID: id, Type: EffectTypeLog, Applied: true}
	e.EffectID, _ = group(m.effect)
	if v, ok := group(m.applied); ok {
		switch strings.ToLower(v) {
		case "true", "1", "yes", "applied":
		case "false", "0", "no", "stale":
			e.Applied = false
		default:
			return sink.Effect{}, false, fmt.Errorf("applied is %q (want true/false, 1/0, yes/no or applied/stale) in line %q", v, clip(line, 200))
		}
	}
	return e, true, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Follower feeds a collector from a log: a stream, a command's output or a file. Its methods
// are safe for concurrent use.
type Follower struct {
	name string
	m    *LogMatcher
	into *sink.Collector

	lines, matched, skipped atomic.Int64

	mu      sync.Mutex
	fatal   error // the follower failed or its command exited with an error
	problem error // the first skipped line

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	syncFn    func(ctx context.Context) error // FollowFile's; nil for streams
}

func newFollower(ctx context.Context, name string, m *LogMatcher, into *sink.Collector) (*Follower, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &Follower{name: name, m: m, into: into, cancel: cancel, done: make(chan struct{})}, ctx
}

// String names what the follower follows.
func (f *Follower) String() string { return f.name }

// Lines returns how many complete lines were read (skipped ones included).
func (f *Follower) Lines() int64 { return f.lines.Load() }

// Matched returns how many lines were fed as effects.
func (f *Follower) Matched() int64 { return f.matched.Load() }

// Skipped returns how many lines were skipped: over MaxLineBytes, or an unreadable applied.
func (f *Follower) Skipped() int64 { return f.skipped.Load() }

// Done is closed once the follower has stopped: Close, its context's end, the end of its
// stream, or its command's exit.
func (f *Follower) Done() <-chan struct{} { return f.done }

// Err reports a problem: the follower's failure (a read error, a command's exit with an error)
// or else the first skipped line.
func (f *Follower) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fatal != nil {
		return f.fatal
	}
	return f.problem
}

func (f *Follower) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fatal == nil {
		f.fatal = fmt.Errorf("%s: %w", f.name, err)
	}
}

func (f *Follower) skip(err error) {
	f.skipped.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.problem == nil {
		f.problem = fmt.Errorf("%s: skipped a line: %w", f.name, err)
	}
}

// line handles one complete line.
func (f *Follower) line(b []byte) {
	f.lines.Add(1)
	b = bytes.TrimSuffix(b, []byte("\r"))
	e, ok, err := f.m.match(string(b))
	switch {
	case err != nil:
		f.skip(err)
	case ok:
		f.matched.Add(1)
		f.into.Add(e)
	}
}

// Sync feeds everything appended so far to a followed file and returns the follower's failure,
// if any. For a stream lines are fed as they arrive: Sync only reports.
func (f *Follower) Sync(ctx context.Context) error {
	if f.syncFn != nil {
		select {
		case <-f.done:
		default:
			if err := f.syncFn(ctx); err != nil {
				return err
			}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fatal
}

// Close stops the follower and waits for it, at most CloseTimeout.
func (f *Follower) Close() error {
	f.closeOnce.Do(func() {
		f.cancel()
		select {
		case <-f.done:
		case <-time.After(CloseTimeout):
			f.closeErr = fmt.Errorf("%s: did not stop within %s", f.name, CloseTimeout)
		}
	})
	return f.closeErr
}

// splitter cuts a byte stream into lines, holding at most MaxLineBytes of a partial line.
type splitter struct {
	f        *Follower
	buf      []byte
	skipping bool // inside a line that is too long, or a partial line to ignore
	long     bool // skipping because the line is too long (counted once it ends)
}

func (s *splitter) write(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if !s.skipping {
			if len(s.buf)+len(chunk) > MaxLineBytes {
				s.buf, s.skipping, s.long = s.buf[:0], true, true
			} else {
				s.buf = append(s.buf, chunk...)
			}
		}
		if i < 0 {
			return
		}
		s.endLine()
		p = p[i+1:]
	}
}

func (s *splitter) endLine() {
	switch {
	case s.long:
		s.f.lines.Add(1)
		s.f.skip(fmt.Errorf("a line over %d bytes", MaxLineBytes))
	case !s.skipping:
		s.f.line(s.buf)
	}
	s.reset()
}

// flush ends a partial last line, as the end of a stream or of a rotated file does.
func (s *splitter) flush() {
	if len(s.buf) > 0 || s.long {
		s.endLine()
	}
	s.reset()
}

func (s *splitter) reset() {
	s.skipping, s.long = false, false
	if cap(s.buf) > 64<<10 {
		s.buf = nil // do not keep a big buffer for the rest of the run
	} else {
		s.buf = s.buf[:0]
	}
}

// Write lets a splitter be a command's stdout or stderr.
func (s *splitter) Write(p []byte) (int, error) {
	s.write(p)
	return len(p), nil
}

// FollowReader feeds into every line of r that m matches, as it comes, until r ends, ctx ends
// or Close. To stop a Read that blocks, Close (and ctx's end) closes r when it is an io.Closer.
func FollowReader(ctx context.Context, r io.Reader, m *LogMatcher, into *sink.Collector) *Follower {
	f, ctx := newFollower(ctx, "log stream", m, into)
	stop := func() bool { return false }
	if c, ok := r.(io.Closer); ok {
		stop = context.AfterFunc(ctx, func() { c.Close() })
	}
	go func() {
		defer close(f.done)
		defer stop()
		s := &splitter{f: f}
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if ctx.Err() != nil {
				return
			}
			s.write(buf[:n])
			if err != nil {
				s.flush()
				if err != io.EOF {
					f.fail(err)
				}
				return
			}
		}
	}()
	return f
}

// FollowFile follows the file at path like tail -F, from its current end (see the package
// doc). A path that does not exist is an ErrConfig error.
func FollowFile(ctx context.Context, path string, m *LogMatcher, into *sink.Collector) (*Follower, error) {
	fh, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &configError{msg: fmt.Sprintf("log file %s does not exist", path)}
		}
		return nil, &configError{msg: fmt.Sprintf("log file: %s", err)}
	}
	st, err := fh.Stat()
	if err == nil && st.IsDir() {
		err = errors.New("is a directory, not a file")
	}
	if err != nil {
		fh.Close()
		return nil, &configError{msg: fmt.Sprintf("log file %s: %s", path, err)}
	}
	f, ctx := newFollower(ctx, "log file "+path, m, into)
	t := &tail{path: path, fh: fh, info: st, off: st.Size(), buf: make([]byte, 64<<10)}
	t.s.f = f
	// A last line still being written belongs to before the run: skip up to its end.
	if t.off > 0 {
		var last [1]byte
		if _, err := fh.ReadAt(last[:], t.off-1); err == nil && last[0] != '\n' {
			t.s.skipping = true
		}
	}
	if _, err := fh.Seek(t.off, io.SeekStart); err != nil {
		fh.Close()
		return nil, &configError{msg: fmt.Sprintf("log file %s: %s", path, err)}
	}
	f.syncFn = func(ctx context.Context) error {
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.step()
	}
	go func() {
		defer close(f.done)
		defer func() {
			t.mu.Lock()
			t.closed = true
			t.fh.Close()
			t.mu.Unlock()
		}()
		tick := time.NewTicker(PollInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			t.mu.Lock()
			err := t.step()
			t.mu.Unlock()
			if err != nil {
				f.fail(err)
				return
			}
		}
	}()
	return f, nil
}

// tail is FollowFile's state.
type tail struct {
	mu     sync.Mutex
	path   string
	fh     *os.File
	info   os.FileInfo // of fh
	off    int64       // read so far in fh
	s      splitter
	closed bool
	buf    []byte
}

// step reads what was appended, then looks for truncation and rotation.
func (t *tail) step() error {
	if t.closed {
		return nil
	}
	if err := t.drain(); err != nil {
		return err
	}
	cur, err := t.fh.Stat()
	if err != nil {
		return err
	}
	if cur.Size() < t.off { // truncated in place: start over
		t.off = 0
		t.s.reset()
		if _, err := t.fh.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := t.drain(); err != nil {
			return err
		}
	}
	st, err := os.Stat(t.path)
	if err != nil || os.SameFile(st, t.info) {
		return nil // gone for now (mid-rotation): keep reading the old file; or not rotated
	}
	nf, err := os.Open(t.path)
	if err != nil {
		return nil // created but not readable yet, or gone again: try next time
	}
	nst, err := nf.Stat()
	if err != nil {
		nf.Close()
		return nil
	}
	// Rotated: whatever was written to the old file since the drain above, then the new one.
	if err := t.drain(); err != nil {
		nf.Close()
		return err
	}
	t.s.flush()
	t.fh.Close()
	t.fh, t.info, t.off = nf, nst, 0
	return t.drain()
}

// drain reads fh to its end.
func (t *tail) drain() error {
	for {
		n, err := t.fh.Read(t.buf)
		t.off += int64(n)
		t.s.write(t.buf[:n])
		if err == io.EOF || (err == nil && n == 0) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// FollowCommand runs `sh -c command` and feeds into every line of its stdout and stderr that m
// matches. The command's process group is killed when ctx ends or on Close, and waited for. A
// command that cannot start is an ErrConfig error; one that exits with an error is reported by
// Err with its status and the tail of its stderr.
func FollowCommand(ctx context.Context, command string, m *LogMatcher, into *sink.Collector) (*Follower, error) {
	if strings.TrimSpace(command) == "" {
		return nil, &configError{msg: "log command is empty"}
	}
	f, ctx := newFollower(ctx, fmt.Sprintf("log command %q", command), m, into)
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the whole group: sh and its children
	}
	// After the kill (or exit), stop waiting for the output of a child that escaped the group.
	cmd.WaitDelay = CloseTimeout / 2
	out := &splitter{f: f}
	errOut := &splitter{f: f}
	tailBuf := &ring{max: stderrTail}
	var outMu, errMu sync.Mutex
	cmd.Stdout = writerFunc(func(p []byte) (int, error) {
		outMu.Lock()
		defer outMu.Unlock()
		return out.Write(p)
	})
	cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		errMu.Lock()
		defer errMu.Unlock()
		tailBuf.Write(p)
		return errOut.Write(p)
	})
	cmd.Stdin = nil
	if err := cmd.Start(); err != nil {
		f.cancel()
		return nil, &configError{msg: fmt.Sprintf("log command %q: %s", command, err)}
	}
	go func() {
		defer close(f.done)
		err := cmd.Wait()
		outMu.Lock()
		out.flush()
		outMu.Unlock()
		errMu.Lock()
		errOut.flush()
		stderr := strings.TrimSpace(tailBuf.String())
		errMu.Unlock()
		if err != nil && ctx.Err() == nil {
			msg := err.Error()
			if stderr != "" {
				msg += "; stderr: " + stderr
			}
			f.fail(errors.New(msg))
		}
	}()
	return f, nil
}

type writerFunc func(p []byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }

// ring keeps the last max bytes written to it.
type ring struct {
	max int
	b   []byte
}

func (r *ring) Write(p []byte) {
	r.b = append(r.b, p...)
	if len(r.b) > r.max {
		r.b = append(r.b[:0], r.b[len(r.b)-r.max:]...)
	}
}

func (r *ring) String() string { return string(r.b) }
