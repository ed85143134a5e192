package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// generatedAt is the fixed generation time of golden reports.
var generatedAt = time.Date(2025, 11, 29, 11, 0, 0, 0, time.UTC)

// readFixtures reads results files, failing the test on any error.
func readFixtures(t testing.TB, files ...string) []*Results {
	t.Helper()
	var rs []*Results
	for _, f := range files {
		r, err := ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

// mergedFixtures are the four fixture files as the report sees them: three runs.
func mergedFixtures(t testing.TB) []*Results {
	t.Helper()
	rs, err := Merge(readFixtures(t, fixtureFiles...)...)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

var (
	// The golden HTML is about structure: the charts' drawing, the stylesheet and the script
	// are checked elsewhere (browser test, chart tests), so their bodies are elided.
	goldenSVG    = regexp.MustCompile(`(?s)(<svg class="plot[ "][^>]*>).*?</svg>`)
	goldenStyle  = regexp.MustCompile(`(?s)<style>.*?</style>`)
	goldenScript = regexp.MustCompile(`(?s)<script>.*?</script>`)
	goldenHash   = regexp.MustCompile(`'sha256-[A-Za-z0-9+/=]+'`)
)

func normaliseHTML(b []byte) []byte {
	b = goldenSVG.ReplaceAll(b, []byte("$1…</svg>"))
	b = goldenStyle.ReplaceAll(b, []byte("<style>…</style>"))
	b = goldenScript.ReplaceAll(b, []byte("<script>…</script>"))
	return goldenHash.ReplaceAll(b, []byte("'sha256-…'"))
}

// checkGolden compares got with testdata/golden/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		diffAt := 0
		for diffAt < len(got) && diffAt < len(want) && got[diffAt] == want[diffAt] {
			diffAt++
		}
		lo := max(diffAt-200, 0)
		t.Errorf("%s differs from the golden file at byte %d (run with -update if the change is intended)\n got: …%s…\nwant: …%s…",
			name, diffAt, got[lo:min(diffAt+200, len(got))], want[lo:min(diffAt+200, len(want))])
	}
}

func TestGolden(t *testing.T) {
	rs := mergedFixtures(t)
	tests := []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"report.html", func(b *bytes.Buffer) error {
			if err := RenderHTML(b, rs, WithGenerated(generatedAt), WithVersion("0.1.0-dev"), WithSources(fixtureFiles...)); err != nil {
				return err
			}
			n := normaliseHTML(b.Bytes())
			b.Reset()
			b.Write(n)
			return nil
		}},
		{"console.txt", func(b *bytes.Buffer) error {
			for _, r := range rs {
				b.WriteString("== " + KindTitle(r.Kind) + "\n")
				for _, c := range r.Cases {
					PrintCase(b, c)
				}
				PrintLoadSummary(b, r)
				PrintRecap(b, r)
			}
			return nil
		}},
		{"console-color.txt", func(b *bytes.Buffer) error {
			PrintCase(b, rs[0].Cases[0], WithColor(true))
			PrintCase(b, rs[0].Cases[7], WithColor(true))
			PrintRecap(b, rs[1], WithColor(true))
			return nil
		}},
		{"junit.xml", func(b *bytes.Buffer) error { return WriteJUnit(b, rs...) }},
		{"summary.md", func(b *bytes.Buffer) error { return WriteMarkdown(b, rs...) }},
		{"merged-load.json", func(b *bytes.Buffer) error { return rs[2].Write(b) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.render(&b); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name, b.Bytes())
		})
	}
}
