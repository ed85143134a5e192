package chaos

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// Every registered fault type documents itself completely and has tests: help texts, the
// admin API, the results and the reports are all made from the registry, so a gap here is
// a gap everywhere.
func TestRegistryIsComplete(t *testing.T) {
	types := Types()
	if len(types) == 0 {
		t.Fatal("no fault types registered")
	}
	for _, ft := range types {
		t.Run(ft.Name, func(t *testing.T) {
			if ft.Summary == "" || strings.ContainsAny(ft.Summary, "\r\n") {
				t.Errorf("summary %q: want one non-empty line", ft.Summary)
			}
			if ft.Kind.Doc() == "" {
				t.Errorf("kind %q is not one of %v", ft.Kind, Kinds())
			}
			if k := ft.KindOf(nil); k.Doc() == "" {
				t.Errorf("kind with default params %q is not one of %v", k, Kinds())
			}
			for name, doc := range ft.Params {
				if name == "" || strings.TrimSpace(doc) == "" || strings.ContainsAny(doc, "\r\n") {
					t.Errorf("param %q: description %q, want one non-empty line", name, doc)
				}
			}
			if ft.Primary != "" && ft.Params[ft.Primary] == "" {
				t.Errorf("primary param %q is not documented in Params", ft.Primary)
			}
			// The params New reads are exactly the documented ones.
			c := newConfig(nil)
			if _, err := ft.New(c); err != nil || c.Err() != nil {
				t.Errorf("New with default params: %v, %v", err, c.Err())
			}
			read := slices.Sorted(maps.Keys(c.used))
			documented := slices.Sorted(maps.Keys(ft.Params))
			if !slices.Equal(read, documented) {
				t.Errorf("New reads params %v, Params documents %v", read, documented)
			}
			if len(faultTests[ft.Name]) == 0 {
				t.Errorf("no tests for %s in faultTests (faults_test.go)", ft.Name)
			}
		})
	}
	for name := range faultTests {
		if _, err := LookupType(name); err != nil {
			t.Errorf("faultTests: %v", err)
		}
	}
}

func TestKinds(t *testing.T) {
	seen := map[Kind]bool{}
	for i, k := range Kinds() {
		if k == "" || k.Doc() == "" || k.Rank() != i || seen[k] {
			t.Errorf("kind %d %q: doc %q, rank %d", i, k, k.Doc(), k.Rank())
		}
		seen[k] = true
	}
	if Kind("nonsense").Doc() != "" || Kind("nonsense").Rank() != len(Kinds()) {
		t.Error("an unknown kind has a doc or a rank")
	}
	to, _ := LookupType("timeout")
	if k := to.KindOf(Params{"forward": "true"}); k != KindLosesAnswer {
		t.Errorf("timeout with forward=true: kind %q, want %q", k, KindLosesAnswer)
	}
}

// The stats say, per instance, its type, kind and params, whatever it is called, and keep
// an instance removed after it fired.
func TestInstanceStats(t *testing.T) {
	flaky := spec("drop", 1, "mode", "502")
	flaky.Name = "flaky"
	x1 := spec("timeout", 0, "forward", "true", "max", "1s")
	x1.Name = "x1"
	r := newRig(t, 1, x1, flaky)
	for i := range 3 {
		r.send(t, "k"+string(rune('a'+i)), "{}")
	}
	if err := r.proxy.RemoveFault("flaky"); err != nil {
		t.Fatal(err)
	}
	st := r.proxy.Stats()
	want := []FaultStat{
		{Name: "x1", Type: "timeout", Kind: KindLosesAnswer, Spec: "timeout=0(name=x1,forward=true,max=1s)",
			Params: Params{"forward": "true", "max": "1s"}},
		{Name: "flaky", Type: "drop", Kind: KindLosesRequest, Spec: "drop=1(name=flaky,mode=502)", Probability: 1,
			Params: Params{"mode": "502"}, Count: 3},
	}
	if len(st.Instances) != len(want) {
		t.Fatalf("instances %+v, want %+v", st.Instances, want)
	}
	for i, w := range want {
		g := st.Instances[i]
		if g.Name != w.Name || g.Type != w.Type || g.Kind != w.Kind || g.Spec != w.Spec ||
			g.Probability != w.Probability || !maps.Equal(g.Params, w.Params) || g.Count != w.Count {
			t.Errorf("instance %d = %+v, want %+v", i, g, w)
		}
	}
	r.proxy.Reset()
	if st := r.proxy.Stats(); len(st.Instances) != 1 || st.Instances[0].Name != "x1" || st.Instances[0].Count != 0 {
		t.Errorf("after reset: %+v, want x1 only, count 0", st.Instances)
	}
}
