package session

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/observe"
)

// ObserveFlags are the flags that observe an endpoint's effects without a change to its code:
// from its database (--effects-sql, --effects-query) or its log lines (--effects-log, over
// the container's output, a followed file or a command's output). Register them with
// AddObserveFlags, check them with Validate, then PrepareEffects before OpenTarget and
// StartEffects after it.
type ObserveFlags struct {
	SQL     string
	Query   string
	Log     string
	LogFile string
	LogCmd  string
	Poll    time.Duration
}

// AddObserveFlags registers the effect observation flags on fs.
func AddObserveFlags(fs *flag.FlagSet) *ObserveFlags {
	f := &ObserveFlags{}
	fs.StringVar(&f.SQL, "effects-sql", "", "read the endpoint's effects from its database, `DSN` postgres://…, mysql://user:pass@host:port/db or sqlite:PATH (read-only; with --effects-query; see hookproof help effects)")
	fs.StringVar(&f.Query, "effects-query", "", "with --effects-sql: the `SQL` returning one row per processing, in processing order, with column webhook_id (optional effect_id, applied); {since} is the run's start; @FILE reads it from a file")
	fs.StringVar(&f.Log, "effects-log", "", "read the endpoint's effects from its log lines: a Go `REGEX` with a named group id (the delivery id; optional groups effect and applied), over the --image container's output, --effects-log-file or --effects-log-cmd")
	fs.StringVar(&f.LogFile, "effects-log-file", "", "with --effects-log: the log `FILE` to follow (from its end, like tail -F)")
	fs.StringVar(&f.LogCmd, "effects-log-cmd", "", "with --effects-log: a shell `COMMAND` whose output to follow (e.g. 'docker logs -f --since 0s app')")
	fs.DurationVar(&f.Poll, "effects-poll", 100*time.Millisecond, "with --effects-sql: how often the query runs while cases wait for effects")
	return f
}

// Active says whether any effect observation was asked for.
func (f *ObserveFlags) Active() bool { return f != nil && (f.SQL != "" || f.Log != "") }

// Validate checks the combination with the target's flags; its errors are usage errors.
func (f *ObserveFlags) Validate(t *TargetFlags) error {
	if f == nil {
		return nil
	}
	switch {
	case f.SQL != "" && f.Query == "":
		return Usagef("--effects-sql needs --effects-query: the SQL that returns one row per processing (webhook_id, optional effect_id and applied)")
	case f.Query != "" && f.SQL == "":
		return Usagef("--effects-query needs --effects-sql: the database to run it on")
	case f.Log == "" && (f.LogFile != "" || f.LogCmd != ""):
		return Usagef("--effects-log-file and --effects-log-cmd need --effects-log: the pattern of a processing's log line")
	case f.LogFile != "" && f.LogCmd != "":
		return Usagef("--effects-log-file and --effects-log-cmd exclude each other: give one")
	case f.Log != "" && f.LogFile == "" && f.LogCmd == "" && (t == nil || t.Image == ""):
		return Usagef("--effects-log reads a container's output (--image), a file (--effects-log-file) or a command's output (--effects-log-cmd): give one")
	case f.Active() && t != nil && t.Builtin != "":
		return Usagef("--builtin receivers report to hookproof's own sink; --effects-sql and --effects-log observe your endpoint (--url or --image)")
	case f.Poll <= 0 || f.Poll > time.Minute:
		return Usagef("--effects-poll %s: want a positive duration up to 1m", f.Poll)
	}
	if strings.HasPrefix(f.Query, "@") {
		b, err := os.ReadFile(strings.TrimPrefix(f.Query, "@"))
		if err != nil {
			return Usagef("--effects-query %s: %v", f.Query, err)
		}
		f.Query = strings.TrimSpace(string(b))
	}
	if f.Log != "" {
		if _, err := observe.NewLogMatcher(f.Log); err != nil {
			return Usagef("--effects-log: %v", err)
		}
	}
	return nil
}

// Secrets are what the flags hold that must never be shown: the DSN's password.
func (f *ObserveFlags) Secrets() []string {
	if f == nil || f.SQL == "" {
		return nil
	}
	return observe.DSNSecrets(f.SQL)
}

// effects is what a session observes effects with.
type effects struct {
	into    *sink.Collector
	sql     *observe.SQL
	follow  *observe.Follower
	logPipe *io.PipeWriter
	logRead *io.PipeReader
	from    []string // descriptions, redacted
}

// PrepareEffects readies the observation f asks for before the target starts: a container's
// output is followed from its first line.
func (s *Session) PrepareEffects(f *ObserveFlags, t *TargetFlags) {
	if !f.Active() {
		return
	}
	s.fx = &effects{}
	if f.Log != "" && f.LogFile == "" && f.LogCmd == "" && t != nil && t.Image != "" {
		s.fx.logRead, s.fx.logPipe = io.Pipe()
		t.logs = s.fx.logPipe
	}
}

// StartEffects starts observing, once the target is up (it may create its tables or log file
// as it starts): the effects query runs once before anything is sent, and a bad DSN, a
// failing query or one without webhook_id is a usage error (exit 2). Effects go to the
// session's sink when it has one, else to a collector of their own (Effects).
func (s *Session) StartEffects(ctx context.Context, f *ObserveFlags, since time.Time) error {
	if !f.Active() || s.fx == nil {
		return nil
	}
	fx := s.fx
	if s.sink != nil {
		fx.into = s.sink.Collector
	} else {
		fx.into = sink.NewCollector()
	}
	bg := context.WithoutCancel(ctx)
	if f.SQL != "" {
		src, err := observe.OpenSQL(ctx, f.SQL, f.Query, since)
		if err != nil {
			return s.observeErr("--effects-sql", err)
		}
		fx.sql = src
		src.Start(bg, fx.into, f.Poll)
		fx.from = append(fx.from, src.String())
	}
	if f.Log != "" {
		m, err := observe.NewLogMatcher(f.Log)
		if err != nil {
			return Usagef("--effects-log: %v", err)
		}
		switch {
		case f.LogFile != "":
			fw, err := observe.FollowFile(bg, f.LogFile, m, fx.into)
			if err != nil {
				return s.observeErr("--effects-log-file", err)
			}
			fx.follow = fw
			fx.from = append(fx.from, "log file "+f.LogFile)
		case f.LogCmd != "":
			fw, err := observe.FollowCommand(bg, f.LogCmd, m, fx.into)
			if err != nil {
				return s.observeErr("--effects-log-cmd", err)
			}
			fx.follow = fw
			fx.from = append(fx.from, "log of `"+reports.RedactString(f.LogCmd, s.cfg.Secrets...)+"`")
		case fx.logRead != nil:
			fx.follow = observe.FollowReader(bg, fx.logRead, m, fx.into)
			fx.from = append(fx.from, "container log")
		}
	}
	return nil
}

func (s *Session) observeErr(flagName string, err error) error {
	if errors.Is(err, observe.ErrConfig) {
		return Usagef("%s: %v", flagName, err)
	}
	return Harness(fmt.Errorf("%s: %w", flagName, err))
}

// Effects is the collector observed effects go to (the sink's when the session has one), nil
// without observation.
func (s *Session) Effects() *sink.Collector {
	if s.fx == nil {
		return nil
	}
	return s.fx.into
}

// EffectsFrom describes where observed effects come from ("" without observation), redacted.
func (s *Session) EffectsFrom() string {
	if s.fx == nil {
		return ""
	}
	return strings.Join(s.fx.from, " and ")
}

// SyncEffects reads every effect source once more now.
func (s *Session) SyncEffects(ctx context.Context) error {
	if s.fx == nil {
		return nil
	}
	var errs []error
	if s.fx.sql != nil {
		errs = append(errs, s.fx.sql.Sync(ctx))
	}
	if s.fx.follow != nil {
		errs = append(errs, s.fx.follow.Sync(ctx))
	}
	return errors.Join(errs...)
}

// closeEffects stops the sources and says what they saw, and what went wrong, on stderr.
func (s *Session) closeEffects() {
	fx := s.fx
	if fx == nil {
		return
	}
	s.fx = nil
	if fx.logPipe != nil {
		_ = fx.logPipe.Close()
	}
	if fx.sql != nil {
		err := fx.sql.Err()
		_ = fx.sql.Close()
		fmt.Fprintf(s.cfg.Stderr, "hookproof: %s: %d rows read, %d skipped\n", fx.sql, fx.sql.Rows(), fx.sql.Skipped())
		if err != nil {
			fmt.Fprintf(s.cfg.Stderr, "hookproof: %s: %s\n", fx.sql, reports.RedactString(err.Error(), s.cfg.Secrets...))
		}
	}
	if fx.follow != nil {
		err := fx.follow.Err()
		_ = fx.follow.Close()
		fmt.Fprintf(s.cfg.Stderr, "hookproof: %s: %d lines read, %d matched, %d skipped\n", fx.follow, fx.follow.Lines(), fx.follow.Matched(), fx.follow.Skipped())
		if err != nil {
			fmt.Fprintf(s.cfg.Stderr, "hookproof: %s: %s\n", fx.follow, reports.RedactString(err.Error(), s.cfg.Secrets...))
		}
	}
}
