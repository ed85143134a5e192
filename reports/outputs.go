package reports

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// Format is one report a command can write from its results besides the results file: the
// flag that names its file, and its renderer. Formats is the one list of them: the commands'
// flags (suites/session) and Outputs.Write both come from it, so adding a format is a
// renderer and an entry here.
type Format struct {
	Flag  string // the flag that names the file, without dashes: "html", "junit", "summary-md"
	Usage string // the flag's help text
	write func(w *bytes.Buffer, rs []*Results, o Outputs) error
}

// Formats are the reports every graded run can write, in the order they are written.
var Formats = []Format{
	{Flag: "html", Usage: "write the self-contained HTML report to `FILE`",
		write: func(b *bytes.Buffer, rs []*Results, o Outputs) error { return RenderHTML(b, rs, o.HTMLOptions...) }},
	{Flag: "junit", Usage: "write a JUnit XML report to `FILE`",
		write: func(b *bytes.Buffer, rs []*Results, _ Outputs) error { return WriteJUnit(b, rs...) }},
	{Flag: "summary-md", Usage: "write a Markdown summary to `FILE` (also appended to $GITHUB_STEP_SUMMARY when set)",
		write: func(b *bytes.Buffer, rs []*Results, _ Outputs) error { return WriteMarkdown(b, rs...) }},
}

// Outputs are the files a command writes from its results besides the results JSON: one per
// Format whose flag was given, and the GitHub job summary. conform, load, demo and report all
// write them through Write, so every command behaves the same.
type Outputs struct {
	// Files maps a Format's flag ("html", "junit", "summary-md") to the file to write.
	Files map[string]string
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
	for _, f := range Formats {
		path := o.Files[f.Flag]
		if path == "" {
			continue
		}
		var buf bytes.Buffer
		if err := f.write(&buf, merged, o); err != nil {
			return err
		}
		if err := writeFileAtomic(path, buf.Bytes()); err != nil {
			return err
		}
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
