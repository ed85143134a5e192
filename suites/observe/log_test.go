package observe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/sink"
)

const testPattern = `processed webhook=(?P<id>\S*)(?: effect=(?P<effect>\S+))?(?: applied=(?P<applied>\S+))?`

func matcher(t *testing.T) *LogMatcher {
	t.Helper()
	m, err := NewLogMatcher(testPattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// eventually waits, generously, until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLogMatcher(t *testing.T) {
	for _, p := range []string{`processed (\S+)`, `processed (?P<ID>\S+)`, `(?P<id`} {
		if _, err := NewLogMatcher(p); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: %v, want ErrConfig", p, err)
		}
	}
	if _, err := NewLogMatcher(`processed (\S+)`); err == nil || !strings.Contains(err.Error(), "no group named id") {
		t.Errorf("missing id: %v", err)
	}
	m := matcher(t)
	for _, c := range []struct {
		line string
		ok   bool
		want sink.Effect
	}{
		{"INFO processed webhook=wh_1", true, sink.Effect{WebhookID: "wh_1", Type: "log", Applied: true}},
		{"processed webhook=wh_1 effect=e9 applied=false", true, sink.Effect{WebhookID: "wh_1", EffectID: "e9", Type: "log"}},
		{"processed webhook=wh_2 applied=STALE", true, sink.Effect{WebhookID: "wh_2", Type: "log"}},
		{"processed webhook=wh_2 applied=No", true, sink.Effect{WebhookID: "wh_2", Type: "log"}},
		{"processed webhook=wh_2 applied=0", true, sink.Effect{WebhookID: "wh_2", Type: "log"}},
		{"processed webhook=wh_3 applied=Yes", true, sink.Effect{WebhookID: "wh_3", Type: "log", Applied: true}},
		{"processed webhook=wh_3 applied=applied", true, sink.Effect{WebhookID: "wh_3", Type: "log", Applied: true}},
		{"processed webhook=wh_3 applied=1", true, sink.Effect{WebhookID: "wh_3", Type: "log", Applied: true}},
		{"processed webhook=wh_4 applied=maybe", false, sink.Effect{}}, // a parse problem
		{"processed webhook= applied=true", false, sink.Effect{}},      // empty id
		{"GET /health 200", false, sink.Effect{}},
	} {
		got, ok := m.Match(c.line)
		if ok != c.ok || got.WebhookID != c.want.WebhookID || got.EffectID != c.want.EffectID || got.Applied != c.want.Applied || (ok && got.Type != "log") {
			t.Errorf("%q: %+v %v, want %+v %v", c.line, got, ok, c.want, c.ok)
		}
	}
	if _, _, err := m.match("processed webhook=wh_4 applied=maybe"); err == nil || !strings.Contains(err.Error(), `"maybe"`) {
		t.Errorf("bad applied: %v", err)
	}
}

func TestFollowReader(t *testing.T) {
	r, w := io.Pipe()
	col := sink.NewCollector()
	f := FollowReader(context.Background(), r, matcher(t), col)
	defer f.Close()
	fmt.Fprint(w, "boot\nprocessed webhook=a\r\nprocessed webhook=b applied=maybe\n")
	// A line over the bound is skipped without being held: the one after it still counts.
	long := strings.Repeat("x", MaxLineBytes+10) + " processed webhook=long\n"
	if _, err := io.WriteString(w, long); err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "processed webhook=c effect=e1\nprocessed webhook=c effect=e1\nprocessed webhook=d") // d: no newline yet
	eventually(t, "c fed twice", func() bool { return len(col.Reports("c")) == 2 })
	if col.Distinct("c") != 1 || col.Distinct("a") != 1 || col.Distinct("long") != 0 || col.Distinct("d") != 0 {
		t.Errorf("fed %v", col.Counts())
	}
	w.Close() // the end of the stream ends the last line
	select {
	case <-f.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the follower did not end with its stream")
	}
	if col.Distinct("d") != 1 {
		t.Error("the last line, without a newline, was not fed at the end of the stream")
	}
	if f.Lines() != 7 || f.Matched() != 4 || f.Skipped() != 2 {
		t.Errorf("lines %d matched %d skipped %d, want 7 4 2", f.Lines(), f.Matched(), f.Skipped())
	}
	if err := f.Err(); err == nil || !strings.Contains(err.Error(), "maybe") {
		t.Errorf("Err: %v, want the first skipped line", err)
	}
}

func TestFollowReaderClose(t *testing.T) {
	r, w := io.Pipe() // never written: Read blocks until Close closes it
	defer w.Close()
	f := FollowReader(context.Background(), r, matcher(t), sink.NewCollector())
	start := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > CloseTimeout+time.Second {
		t.Errorf("Close took %s", d)
	}
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func syncFile(t *testing.T, f *Follower) {
	t.Helper()
	if err := f.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func TestFollowFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	// Before the run: whole lines and a partly written one. None is this run's.
	appendTo(t, path, "processed webhook=before_1\nprocessed webhook=before_2\nprocessed webh")
	col := sink.NewCollector()
	f, err := FollowFile(context.Background(), path, matcher(t), col)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	appendTo(t, path, "ook=before_3\nprocessed webhook=a1\nprocessed webhook=a2 applied=stale\nprocessed webhook=a3")
	syncFile(t, f)
	if got := col.Counts(); len(got) != 2 || got["a1"] != 1 || got["a2"] != 1 {
		t.Fatalf("after appends: %v, want a1 and a2 (a3 has no newline yet)", got)
	}
	if r := col.Reports("a2"); r[0].Applied {
		t.Error("a2 is stale, fed as applied")
	}
	appendTo(t, path, "\n")
	syncFile(t, f)
	syncFile(t, f) // nothing new: nothing fed twice
	if col.Distinct("a3") != 1 || col.Total() != 3 {
		t.Fatalf("after the newline: %v", col.Counts())
	}

	// Truncated in place (copytruncate): start over at 0.
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	syncFile(t, f)
	appendTo(t, path, "processed webhook=t1\n")
	syncFile(t, f)
	if col.Distinct("t1") != 1 {
		t.Fatalf("after truncation: %v", col.Counts())
	}

	// Rotated (rename, then a new file): the rest of the old one, then the new one from 0.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path+".1", "processed webhook=r_old\nprocessed webhook=r_old_partial")
	syncFile(t, f) // the path is gone for now: keep the old file
	appendTo(t, path, "processed webhook=r_new_1\n")
	appendTo(t, path+".1", "_end\n")
	syncFile(t, f)
	appendTo(t, path, "processed webhook=r_new_2\n")
	syncFile(t, f)
	for _, id := range []string{"r_old", "r_old_partial_end", "r_new_1", "r_new_2"} {
		if col.Distinct(id) != 1 {
			t.Errorf("after rotation: %s not fed once: %v", id, col.Counts())
		}
	}
	if col.Total() != 8 {
		t.Errorf("fed %d, want 8: %v", col.Total(), col.Counts())
	}

	// Without Sync, the poller finds appended lines by itself.
	appendTo(t, path, "processed webhook=polled\n")
	eventually(t, "the poller to feed a line", func() bool { return col.Distinct("polled") == 1 })
	if err := f.Err(); err != nil {
		t.Errorf("Err: %v", err)
	}
	start := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > CloseTimeout+time.Second {
		t.Errorf("Close took %s", d)
	}
}

func TestFollowFileRotatedByReplace(t *testing.T) {
	// A rotation that replaces the path with a new file in one rename (as a writer that writes
	// app.log.tmp and renames it over app.log does).
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, "")
	col := sink.NewCollector()
	f, err := FollowFile(context.Background(), path, matcher(t), col)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	fmt.Fprint(old, "processed webhook=o1\n")
	appendTo(t, path+".new", "processed webhook=n1\n")
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(old, "processed webhook=o2\n") // the old file, still open, gets a last line
	syncFile(t, f)
	for _, id := range []string{"o1", "o2", "n1"} {
		if col.Distinct(id) != 1 {
			t.Errorf("%s not fed once: %v", id, col.Counts())
		}
	}
}

func TestFollowFileMissing(t *testing.T) {
	_, err := FollowFile(context.Background(), filepath.Join(t.TempDir(), "nope.log"), matcher(t), sink.NewCollector())
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("%v, want ErrConfig saying the file does not exist", err)
	}
	if _, err := FollowFile(context.Background(), t.TempDir(), matcher(t), sink.NewCollector()); !errors.Is(err, ErrConfig) {
		t.Fatalf("a directory: %v, want ErrConfig", err)
	}
}

func TestFollowCommand(t *testing.T) {
	col := sink.NewCollector()
	// Lines on stdout and stderr, then a child that would outlive sh without the group kill.
	f, err := FollowCommand(context.Background(),
		`echo "processed webhook=out_1"; echo "processed webhook=err_1 applied=false" >&2; sleep 600 & echo "processed webhook=child_$!"; wait`, matcher(t), col)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the lines", func() bool { return col.Distinct("out_1") == 1 && col.Distinct("err_1") == 1 && len(col.Counts()) == 3 })
	child := 0
	for id := range col.Counts() {
		if n, ok := strings.CutPrefix(id, "child_"); ok {
			child, _ = strconv.Atoi(n)
		}
	}
	if child <= 0 {
		t.Fatalf("no child pid in %v", col.Counts())
	}
	if r := col.Reports("err_1"); r[0].Applied {
		t.Error("err_1 is not applied, fed as applied")
	}
	start := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > CloseTimeout+time.Second {
		t.Errorf("Close took %s", d)
	}
	select {
	case <-f.Done():
	default:
		t.Error("Done is open after Close")
	}
	if err := f.Err(); err != nil {
		t.Errorf("Err after Close: %v, want nil (the kill is ours)", err)
	}
	// sh's child was killed with it (it may linger as a zombie where nothing reaps orphans).
	eventually(t, fmt.Sprintf("child %d to die", child), func() bool {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			return true
		}
		_, after, _ := strings.Cut(string(stat), ") ")
		return strings.HasPrefix(after, "Z") || strings.HasPrefix(after, "X")
	})
	if f.Lines() != 3 || f.Matched() != 3 {
		t.Errorf("lines %d matched %d", f.Lines(), f.Matched())
	}
}

func TestFollowCommandCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f, err := FollowCommand(ctx, "sleep 600", matcher(t), sink.NewCollector())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-f.Done():
	case <-time.After(CloseTimeout + 5*time.Second):
		t.Fatal("the command outlived its context")
	}
}

func TestFollowCommandFails(t *testing.T) {
	f, err := FollowCommand(context.Background(), `echo "processed webhook=x1"; echo "docker: no such container: api" >&2; exit 3`, matcher(t), sink.NewCollector())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	select {
	case <-f.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the command did not end")
	}
	err = f.Err()
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "no such container: api") {
		t.Fatalf("Err: %v, want the exit status and the stderr tail", err)
	}
	if f.Matched() != 1 {
		t.Errorf("matched %d, want 1", f.Matched())
	}
	if _, err := FollowCommand(context.Background(), " ", matcher(t), sink.NewCollector()); !errors.Is(err, ErrConfig) {
		t.Errorf("empty command: %v, want ErrConfig", err)
	}
}
