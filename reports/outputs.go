package reports

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// Outputs are the files a command writes from its results besides the results JSON: the
// flags --html, --junit and --summary-md, and the GitHub job summary. conform, load and
// report all write them through Write, so every command behaves the same.
type Outputs struct {
	HTML     string // --html FILE: the self-contained report
	JUnit    string // --junit FILE
	Markdown string // --summary-md FILE
	// Getenv reads GITHUB_STEP_SUMMARY; the summary is appended there when it is set.
	// Nil means no job summary.
	Getenv      func(string) string
	HTMLOptions []HTMLOption
}

// Write merges rs (see Merge) and writes every output that is named. Each file is written
// whole or not at all (a temporary file renamed into place).
func (o Outputs) Write(rs ...*Results) error {
	merged, err := Merge(rs...)
	if err != nil {
		return err
	}
	write := func(path string, render func(*bytes.Buffer) error) error {
		if path == "" {
			return nil
		}
		var buf bytes.Buffer
		if err := render(&buf); err != nil {
			return err
		}
		return writeFileAtomic(path, buf.Bytes())
	}
	if err := write(o.HTML, func(b *bytes.Buffer) error { return RenderHTML(b, merged, o.HTMLOptions...) }); err != nil {
		return err
	}
	if err := write(o.JUnit, func(b *bytes.Buffer) error { return WriteJUnit(b, merged...) }); err != nil {
		return err
	}
	if err := write(o.Markdown, func(b *bytes.Buffer) error { return WriteMarkdown(b, merged...) }); err != nil {
		return err
	}
	if o.Getenv != nil {
		if err := AppendGitHubSummary(o.Getenv, merged...); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file in the same folder.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".hookproof-*")
	if err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	return nil
}
