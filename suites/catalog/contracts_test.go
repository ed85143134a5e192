package catalog

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Documents a user's clone does not have. Spelled in pieces so that this file does not match.
var absent = []string{"DESIGN" + ".md", ".." + "/shared"}

// TestSourcesCiteTheRepo: every source a result can carry names something a user has (a spec,
// a provider's documentation, a contract in this repo), not a design document outside it.
func TestSourcesCiteTheRepo(t *testing.T) {
	for _, s := range []Suite{Receiver, Sender, Load} {
		reqs, err := All(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reqs {
			for _, a := range append(absent, "DESIGN") {
				if strings.Contains(r.Source, a) {
					t.Errorf("%s: source %q cites %s", r.ID, r.Source, a)
				}
			}
		}
	}
}

// TestNoCitationOutsideTheRepo walks the module: no Go or YAML file may cite or read a
// document outside it.
func TestNoCitationOutsideTheRepo(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".go", ".yaml", ".yml":
		default:
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		for _, a := range absent {
			if strings.Contains(string(b), a) {
				rel, _ := filepath.Rel(root, p)
				t.Errorf("%s mentions %s, which a clone of the repository does not have", rel, a)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("walked only %d files under %s: not the module", n, root)
	}
}

// moduleRoot is the directory of the go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
