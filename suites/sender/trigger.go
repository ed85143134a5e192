package sender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reports"
)

// URLPlaceholder in a trigger command is replaced by the URL of the case's endpoint.
const URLPlaceholder = "{url}"

// CAPlaceholder in a trigger command is replaced by the path of the PEM file of the CA that
// signed the scripted receiver's certificate, when it serves HTTPS (conform sender --tls).
const CAPlaceholder = "{ca}"

// Trigger runs the command that makes the sender under test emit one event: `sh -c CMD`, with
// {url} replaced by the case's URL and HOOKPROOF_URL and HOOKPROOF_CASE in its environment.
type Trigger struct {
	Command string
	Timeout time.Duration // for one run; 0 means 30 s
	Secrets []string      // redacted from anything shown
	// CA is the scripted receiver's CA file (PEM) when it serves HTTPS: {ca} and $HOOKPROOF_CA.
	CA string
}

// PerCase reports whether the command takes the case's URL ({url}): then every case gets its
// own endpoint; otherwise the sender has one fixed URL and cases run strictly one at a time.
func (t Trigger) PerCase() bool { return strings.Contains(t.Command, URLPlaceholder) }

// TriggerError is a trigger run that failed: it could not start, timed out or exited non-zero.
type TriggerError struct {
	Exit   int // -1 when it did not exit on its own
	Stderr string
	Err    error
}

func (e *TriggerError) Error() string {
	msg := fmt.Sprintf("trigger command failed: %v", e.Err)
	if e.Stderr != "" {
		msg += "; stderr: " + e.Stderr
	}
	return msg
}

func (e *TriggerError) Unwrap() error { return e.Err }

// TriggerRun is what one run of the trigger did.
type TriggerRun struct {
	Command  string // as run, secrets redacted
	Duration time.Duration
	Stdout   string // excerpt, secrets redacted
}

// Run runs the trigger for one case.
func (t Trigger) Run(ctx context.Context, caseID, url string) (TriggerRun, error) {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmdline := strings.ReplaceAll(t.Command, URLPlaceholder, shellWord(url))
	if t.CA != "" {
		cmdline = strings.ReplaceAll(cmdline, CAPlaceholder, shellWord(t.CA))
	}
	run := TriggerRun{Command: reports.RedactString(cmdline, t.Secrets...)}
	cmd := exec.CommandContext(ctx, "sh", "-c", cmdline)
	cmd.Env = append(os.Environ(), "HOOKPROOF_URL="+url, "HOOKPROOF_CASE="+caseID)
	if t.CA != "" {
		cmd.Env = append(cmd.Env, "HOOKPROOF_CA="+t.CA)
	}
	cmd.WaitDelay = 2 * time.Second // a background child holding the pipes cannot stall the case
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &limited{b: &stdout}, &limited{b: &stderr}
	start := time.Now()
	err := cmd.Run()
	run.Duration = time.Since(start)
	run.Stdout = reports.RedactString(reports.Excerpt(bytes.TrimSpace(stdout.Bytes()), 400), t.Secrets...)
	if err == nil {
		return run, nil
	}
	te := &TriggerError{Exit: -1, Stderr: reports.RedactString(reports.Excerpt(bytes.TrimSpace(stderr.Bytes()), 600), t.Secrets...)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		te.Err = fmt.Errorf("no exit within %s", timeout)
	case errors.As(err, &ee) && ee.Exited():
		te.Exit = ee.ExitCode()
		te.Err = fmt.Errorf("exit status %d", te.Exit)
	default:
		te.Err = errors.New(reports.RedactString(err.Error(), t.Secrets...))
	}
	return run, te
}

// shellWord returns s as one shell word: as is when it holds only characters no shell treats
// specially (every URL hookproof makes for a listener on a name or IPv4 address), otherwise
// single-quoted.
func shellWord(s string) string {
	safe := s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(":/._-", r))
	})
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// limited is a writer that keeps the first 64 KiB and drops the rest.
type limited struct{ b *bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := 64<<10 - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
