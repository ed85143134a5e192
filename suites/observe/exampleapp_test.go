package observe_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/observe"
	"github.com/hookproof/hookproof/suites/target"
)

// The receiver suite and load run against testdata/exampleapp, an ordinary webhook app with
// no hookproof code, observed through its processed_events table (SQLite, PostgreSQL,
// MariaDB) and through its log: the correct app passes every MUST, the variant that processes
// duplicates twice fails the idempotency cases and a load run's doubled==0, through each path.

const appSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binaries builds hookproof and the example app once per test process.
func binaries(t *testing.T) (hookproof, app string) {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "hookproof-observe-e2e-*")
		if buildErr != nil {
			return
		}
		for out, pkg := range map[string]string{"hookproof": "../../cmd/hookproof", "exampleapp": "../../testdata/exampleapp"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, out), pkg)
			if b, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "hookproof"), filepath.Join(buildDir, "exampleapp")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// app starts the example app on db with a fresh table prefix; it returns its URL, the prefix
// and its log file.
func startApp(t *testing.T, bin, db, flaw string) (url, prefix, logFile string) {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix = "hp_" + hex.EncodeToString(b) + "_"
	logFile = filepath.Join(t.TempDir(), "app.log")
	args := []string{"-listen", "127.0.0.1:0", "-db", db, "-secret", appSecret, "-table-prefix", prefix, "-log", logFile}
	if flaw != "" {
		args = append(args, "-flaw", flaw)
	}
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		if _, _, err := net.SplitHostPort(a); err != nil {
			t.Fatalf("example app printed %q", a)
		}
		return "http://" + a + "/webhooks", prefix, logFile
	case <-time.After(30 * time.Second):
		t.Fatalf("example app did not start:\n%s", stderr.String())
	}
	return "", "", ""
}

// hookproof runs the CLI; it returns the exit code and everything printed.
func hookproof(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	} else if err != nil {
		t.Fatalf("hookproof %v: %v\n%s", args, err, out.String())
	}
	return 0, out.String()
}

type path struct {
	name string
	db   string // the app's database
	// flags observe the app (its table prefix and log file given)
	flags func(db, prefix, logFile string) []string
}

func sqlPath(name, db string) path {
	return path{name, db, func(db, prefix, _ string) []string {
		return []string{"--effects-sql", db, "--effects-query",
			"SELECT webhook_id, applied FROM " + prefix + "processed_events WHERE processed_at >= {since} ORDER BY id"}
	}}
}

const logPattern = `^processed webhook_id=(?P<id>\S+) object=\S+ seq=\S+ applied=(?P<applied>true|false)$`

func observationPaths(t *testing.T) []path {
	dir := t.TempDir()
	paths := []path{
		sqlPath("sqlite", "sqlite:"+filepath.Join(dir, "app.db")),
		{"log", "sqlite:" + filepath.Join(dir, "app-log.db"), func(_, _, logFile string) []string {
			return []string{"--effects-log", logPattern, "--effects-log-file", logFile}
		}},
	}
	for _, db := range []struct{ name, env string }{{"postgres", observe.PostgresDSNEnv}, {"mariadb", observe.MySQLDSNEnv}} {
		if dsn := os.Getenv(db.env); dsn != "" {
			paths = append(paths, sqlPath(db.name, dsn))
		} else if os.Getenv("CI") != "" {
			t.Errorf("%s is not set under CI: the %s path must run", db.env, db.name)
		} else {
			t.Logf("SKIPPING the %s path: set %s", db.name, db.env)
		}
	}
	return paths
}

func TestExampleAppObservedWithoutCodeChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the receiver suite and load against the example app")
	}
	hp, app := binaries(t)
	for _, p := range observationPaths(t) {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			// Each path's apps get their own databases for SQLite; the shared servers get table
			// prefixes.
			db := p.db
			t.Run("correct app passes every MUST", func(t *testing.T) {
				url, prefix, logFile := startApp(t, app, dbFor(t, db, "ok"), "")
				out := filepath.Join(t.TempDir(), "r.json")
				code, output := hookproof(t, hp, append([]string{"conform", "receiver", "--url", url, "--secret", appSecret,
					"--seed", "11", "--out", out}, p.flags(dbFor(t, db, "ok"), prefix, logFile)...)...)
				if code != 0 || !strings.Contains(output, "verdict: conformant") {
					t.Fatalf("exit %d, want 0 and conformant:\n%s", code, output)
				}
				res, err := reports.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range res.Cases {
					if c.Level == reports.MUST && c.Outcome != reports.Passed && c.Outcome != reports.NotApplicable && c.Outcome != reports.Skipped {
						t.Errorf("%s %s: %s (%s)", c.ID, c.Level, c.Outcome, c.Reason)
					}
					if strings.HasPrefix(c.ID, "RCV-IDEM") && c.Outcome != reports.Passed {
						t.Errorf("%s was not observed: %s (%s)", c.ID, c.Outcome, c.Reason)
					}
				}
			})
			t.Run("duplicates processed twice fail", func(t *testing.T) {
				url, prefix, logFile := startApp(t, app, dbFor(t, db, "double"), "double")
				code, output := hookproof(t, hp, append([]string{"conform", "receiver", "--url", url, "--secret", appSecret,
					"--seed", "11", "--family", "idempotency"}, p.flags(dbFor(t, db, "double"), prefix, logFile)...)...)
				for _, want := range []string{"✗ RCV-IDEM-001", "✗ RCV-IDEM-002", "exactly one distinct effect"} {
					if code != 1 || !strings.Contains(output, want) {
						t.Fatalf("exit %d, want 1 with %q:\n%s", code, want, output)
					}
				}
				code, output = hookproof(t, hp, append([]string{"load", "--url", url, "--secret", appSecret, "--rate", "50/s",
					"--duration", "2s", "--duplicate", "0.2", "--drain", "5s", "--sink-wait", "5s", "--seed", "3", "--progress", "off"},
					p.flags(dbFor(t, db, "double"), prefix, logFile)...)...)
				if code != 1 || !strings.Contains(output, "✗ doubled==0") {
					t.Fatalf("load: exit %d, want 1 with doubled==0 failed:\n%s", code, output)
				}
			})
		})
	}
}

// dbFor gives each app of a test its own SQLite file; server DSNs are shared (tables are
// prefixed).
func dbFor(t *testing.T, db, which string) string {
	if f, ok := strings.CutPrefix(db, "sqlite:"); ok {
		return "sqlite:" + strings.TrimSuffix(f, ".db") + "-" + which + ".db"
	}
	return db
}

// TestNothingSeenIsNotAPass: a query that sees none of the run's processing makes the cases
// that need effects not observable and the verdict not green, in conform and in load.
func TestNothingSeenIsNotAPass(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the receiver suite against the example app")
	}
	hp, app := binaries(t)
	db := "sqlite:" + filepath.Join(t.TempDir(), "app.db")
	url, prefix, _ := startApp(t, app, db, "")
	flags := []string{"--effects-sql", db, "--effects-query", "SELECT webhook_id FROM " + prefix + "processed_events WHERE 1 = 0"}
	code, output := hookproof(t, hp, append([]string{"conform", "receiver", "--url", url, "--secret", appSecret, "--family", "idempotency"}, flags...)...)
	if code != 1 || !strings.Contains(output, "3 not observable") || strings.Contains(output, "verdict: conformant") {
		t.Fatalf("exit %d, want 1 with the idempotency cases not observable:\n%s", code, output)
	}
	code, output = hookproof(t, hp, append([]string{"load", "--url", url, "--secret", appSecret, "--rate", "50/s", "--duration", "1s",
		"--drain", "3s", "--sink-wait", "2s", "--progress", "off"}, flags...)...)
	if code != 1 || !strings.Contains(output, "verdict: incomplete") || !strings.Contains(output, "gave no effect at all") {
		t.Fatalf("load: exit %d, want 1, incomplete, naming the silent source:\n%s", code, output)
	}
}

// TestDSNPasswordNeverShown: a DSN's password is in no output of a run: console, results,
// JUnit, Markdown, HTML; nor in the error of a DSN that cannot connect.
func TestDSNPasswordNeverShown(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the receiver suite against the example app")
	}
	hp, app := binaries(t)
	const pw = "Tr0ub4dor-and-3"
	code, output := hookproof(t, hp, "conform", "receiver", "--url", "http://127.0.0.1:1/", "--secret", appSecret,
		"--effects-sql", "postgres://hookproof:"+pw+"@127.0.0.1:1/app?sslmode=disable", "--effects-query", "SELECT webhook_id FROM processed_events")
	if code != 2 && code != 3 || strings.Contains(output, pw) {
		t.Fatalf("exit %d (want 2 or 3), output must not hold the password:\n%s", code, output)
	}
	dsn := os.Getenv(observe.PostgresDSNEnv)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set under CI", observe.PostgresDSNEnv)
		}
		t.Skipf("SKIPPING the full run: set %s", observe.PostgresDSNEnv)
	}
	// CI's throwaway cluster trusts loopback, so any password connects: put one in the DSN.
	withPW := strings.Replace(dsn, "postgres@", "postgres:"+pw+"@", 1)
	if withPW == dsn {
		t.Skipf("cannot put a password into %s", observe.PostgresDSNEnv)
	}
	url, prefix, _ := startApp(t, app, dsn, "")
	dir := t.TempDir()
	files := map[string]string{"--out": "r.json", "--junit": "r.xml", "--html": "r.html", "--summary-md": "r.md"}
	args := []string{"conform", "receiver", "--url", url, "--secret", appSecret, "--family", "idempotency",
		"--effects-sql", withPW, "--effects-query", "SELECT webhook_id, applied FROM " + prefix + "processed_events WHERE processed_at >= {since} ORDER BY id"}
	for f, name := range files {
		args = append(args, f, filepath.Join(dir, name))
	}
	code, output = hookproof(t, hp, args...)
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, output)
	}
	if strings.Contains(output, pw) {
		t.Errorf("console output holds the password:\n%s", output)
	}
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(pw)) {
			t.Errorf("%s holds the password", name)
		}
	}
}

// TestExampleAppContainerLog: --image with --effects-log reads the container's output as it
// comes: the example app in a FROM scratch image passes the idempotency cases observed from
// its log lines alone, and its double-processing variant fails them.
func TestExampleAppContainerLog(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := target.CheckEngine(ctx); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no Docker engine under CI: %v", err)
		}
		t.Skipf("SKIPPING: no Docker engine: %v", err)
	}
	hp, _ := binaries(t)
	img, err := target.BuildImage(ctx, target.WithPackage("./testdata/exampleapp"), target.WithRepository("hookproof-exampleapp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flaw string
		code int
		want string
	}{{"", 0, "✓ RCV-IDEM-002"}, {"double", 1, "✗ RCV-IDEM-002"}} {
		args := []string{"conform", "receiver", "--image", img, "--path", "/webhooks", "--secret", appSecret,
			"--family", "idempotency", "--seed", "2", "--effects-log", logPattern,
			"--arg", "-listen", "--arg", "127.0.0.1:{port}", "--arg", "-db", "--arg", "sqlite:/data/app.db", "--arg", "-secret", "--arg", appSecret}
		if tc.flaw != "" {
			args = append(args, "--arg", "-flaw", "--arg", tc.flaw)
		}
		code, output := hookproof(t, hp, args...)
		if code != tc.code || !strings.Contains(output, tc.want) || !strings.Contains(output, "container log") {
			t.Errorf("flaw %q: exit %d, want %d with %q, observed from the container log:\n%s", tc.flaw, code, tc.code, tc.want, output)
		}
	}
}
