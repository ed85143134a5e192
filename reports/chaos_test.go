package reports

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/hookproof/hookproof/chaos"
)

// chaosRows returns the chaos table's rows of page, by fault name, as text cells.
func chaosRows(t *testing.T, page []byte) map[string][]string {
	t.Helper()
	i := bytes.Index(page, []byte(`<table class="chaos">`))
	if i < 0 {
		t.Fatal("no chaos table")
	}
	table := page[i:]
	table = table[:bytes.Index(table, []byte("</table>"))]
	rows := map[string][]string{}
	tags := regexp.MustCompile(`<[^>]*>`)
	for _, tr := range regexp.MustCompile(`(?s)<tr class="[^"]*">(.*?)</tr>`).FindAllSubmatch(table, -1) {
		var cells []string
		for _, td := range regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`).FindAllSubmatch(tr[1], -1) {
			cells = append(cells, strings.TrimSpace(tags.ReplaceAllString(string(td[1]), "")))
		}
		rows[cells[0]] = cells
	}
	return rows
}

func loadWithChaos(c *Chaos) *Results {
	return &Results{Schema: Schema, Kind: KindLoad, Chaos: c, Load: &Load{
		Ledger: Ledger{Observed: true, Effects: 100, Retries: 7, Doubled: 2},
	}}
}

// A fault renders by the type and kind recorded for it, whatever its name says: names are
// the user's, and may be anything, including another type's name.
func TestChaosFaultsRenderByRecordedType(t *testing.T) {
	r := loadWithChaos(&Chaos{Seed: 1, Requests: 50,
		Counters: map[string]int64{"flaky": 4, "x1": 3, "delay": 2},
		Faults: []FaultStat{
			{Name: "flaky", Type: "drop", Kind: string(chaos.KindLosesRequest), Spec: "drop=0.1(name=flaky)", Probability: 0.1, Injected: 4},
			{Name: "x1", Type: "lost-ack", Kind: string(chaos.KindLosesAnswer), Probability: 0.05, Params: map[string]string{"mode": "502"}, Injected: 3},
			{Name: "delay", Type: "corrupt", Kind: string(chaos.KindCorrupts), Probability: 1, Injected: 2},
		}})
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Chaos.Faults) != 3 || back.Chaos.Faults[1].Params["mode"] != "502" {
		t.Fatalf("faults did not survive the file: %+v", back.Chaos.Faults)
	}
	rows := chaosRows(t, render(t, []*Results{back}))
	want := map[string][]string{
		"flaky": {"flaky", "drop", "loses the request", "4", "7 retries"},
		"x1":    {"x1", "lost-ack", "loses the answer", "3", "2 events processed more than once"},
		"delay": {"delay", "corrupt", "corrupts the request", "2", "accepted none of the invalid deliveries"},
	}
	if len(rows) != len(want) {
		t.Errorf("rows %v, want %d", rows, len(want))
	}
	for name, w := range want {
		got := rows[name]
		if len(got) != 5 {
			t.Errorf("%s: row %q", name, got)
			continue
		}
		for i := range 4 {
			if got[i] != w[i] {
				t.Errorf("%s: cell %d = %q, want %q (row %q)", name, i, got[i], w[i], got)
			}
		}
		if !strings.Contains(got[4], w[4]) {
			t.Errorf("%s: what the target did %q, want it to mention %q", name, got[4], w[4])
		}
	}
}

// A v1 file has counters by name only: a name that is a registered type renders as that
// type, any other as of unknown type, never guessed from parts of the name.
func TestChaosV1RendersByRegistryName(t *testing.T) {
	v1 := `{"schema":"hookproof.results/v1","kind":"load","run":{"target":"t","seed":1,"started":"2025-11-29T10:00:00Z","finished":"2025-11-29T10:00:30Z"},
"load":{"ledger":{"observed":true,"effects":100,"retries":7}},
"chaos":{"seed":1,"requests":50,"counters":{"lost-ack":3,"drop-most":4,"x1":1}}}`
	r, err := Read(strings.NewReader(v1))
	if err != nil {
		t.Fatal(err)
	}
	list := r.Chaos.FaultList()
	if len(list) != 3 || list[1].Name != "lost-ack" || list[1].Type != "lost-ack" || list[1].Kind != string(chaos.KindLosesAnswer) {
		t.Fatalf("FaultList = %+v", list)
	}
	rows := chaosRows(t, render(t, []*Results{r}))
	for name, w := range map[string][]string{
		"lost-ack":  {"lost-ack", "lost-ack", "loses the answer", "3"},
		"drop-most": {"drop-most", "unknown type", "unknown", "4"},
		"x1":        {"x1", "unknown type", "unknown", "1"},
	} {
		got := rows[name]
		if len(got) < 4 || strings.Join(got[:4], "|") != strings.Join(w, "|") {
			t.Errorf("%s: row %q, want it to start %q", name, got, w)
		}
	}
	if did := rows["drop-most"][4]; did != "—" {
		t.Errorf("a fault of unknown type is explained as %q, want —", did)
	}
}

// The proxy's per-instance stats become the results' faults as they are.
func TestChaosFaultsFromProxy(t *testing.T) {
	in := []chaos.FaultStat{{Name: "flaky", Type: "timeout", Kind: chaos.KindLosesAnswer, Spec: "timeout=1(name=flaky,forward=true)",
		Probability: 1, Params: chaos.Params{"forward": "true"}, Count: 9}}
	got := ChaosFaults(in)
	want := FaultStat{Name: "flaky", Type: "timeout", Kind: "loses-answer", Spec: "timeout=1(name=flaky,forward=true)",
		Probability: 1, Params: map[string]string{"forward": "true"}, Injected: 9}
	if len(got) != 1 || got[0].Name != want.Name || got[0].Type != want.Type || got[0].Kind != want.Kind ||
		got[0].Spec != want.Spec || got[0].Probability != 1 || got[0].Params["forward"] != "true" || got[0].Injected != 9 {
		t.Errorf("ChaosFaults = %+v, want %+v", got, want)
	}
	in[0].Params["forward"] = "false"
	if got[0].Params["forward"] != "true" {
		t.Error("ChaosFaults shares the params map")
	}
	if ChaosFaults(nil) != nil {
		t.Error("no stats, want nil faults")
	}
}

// Shards' faults sum by name; a v1 shard among them contributes through its counters.
func TestMergeChaosFaults(t *testing.T) {
	shard := func(i int, c *Chaos) *Results {
		r := loadWithChaos(c)
		r.Run.Seed = int64(i)
		r.Run.Shard = &Shard{Index: i, Count: 3, RunID: "run"}
		return r
	}
	rs, err := Merge(
		shard(1, &Chaos{Requests: 10, Counters: map[string]int64{"flaky": 2, "x1": 1}, Faults: []FaultStat{
			{Name: "flaky", Type: "drop", Kind: "loses-request", Injected: 2}, {Name: "x1", Type: "replay", Kind: "repeats", Injected: 1}}}),
		shard(2, &Chaos{Requests: 10, Counters: map[string]int64{"flaky": 3}}),
		shard(3, &Chaos{Requests: 10, Counters: map[string]int64{"flaky": 5, "x1": 4}, Faults: []FaultStat{
			{Name: "flaky", Type: "drop", Kind: "loses-request", Injected: 5}, {Name: "x1", Type: "replay", Kind: "repeats", Injected: 4}}}),
	)
	if err != nil {
		t.Fatal(err)
	}
	f := rs[0].Chaos.Faults
	if len(f) != 2 || f[0].Name != "flaky" || f[0].Type != "drop" || f[0].Injected != 10 || f[1].Name != "x1" || f[1].Kind != "repeats" || f[1].Injected != 5 {
		t.Errorf("merged faults = %+v", f)
	}
}
