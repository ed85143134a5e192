package reports

import (
	"errors"
	"strings"
	"testing"
)

func shardOf(run string, i, n int) *Results {
	return &Results{Schema: Schema, Kind: KindLoad, Run: RunMeta{AllowUnobserved: true, Shard: &Shard{Index: i, Count: n, RunID: run}},
		Load: &Load{Rate: 10, Ledger: Ledger{Published: 10, Acked: 10, Effects: 10, Observed: true},
			Thresholds: []Threshold{{Expr: "lost==0", Metric: "lost", Op: "==", Passed: true, Outcome: Passed, Level: MUST}}}}
}

func TestMergeAvailable(t *testing.T) {
	all, missing, err := MergeAvailable("r", 3, []*Results{shardOf("r", 3, 3), shardOf("r", 1, 3), shardOf("r", 2, 3)})
	if err != nil || len(missing) != 0 || all.Verdict() != Conformant || all.Load.Ledger.Published != 30 {
		t.Fatalf("every shard: %v %v %v", missing, err, all)
	}
	part, missing, err := MergeAvailable("r", 3, []*Results{shardOf("r", 1, 3), shardOf("r", 3, 3)})
	if err != nil || len(missing) != 1 || missing[0] != 2 {
		t.Fatalf("missing %v %v", missing, err)
	}
	if v := part.Verdict(); v != Incomplete || part.Passing() {
		t.Errorf("a run missing a shard: %s, passing %v; want incomplete, never passing (even with --allow-unobserved)", v, part.Passing())
	}
	if ex := part.Explain(); !strings.Contains(ex, "shards==3") {
		t.Errorf("explain %q does not name the marker", ex)
	}
	var reason string
	for _, th := range part.Load.Thresholds {
		if th.Metric == ShardsMetric {
			reason = th.Reason
		}
	}
	if !strings.Contains(reason, "2/3") || part.Load.Ledger.Published != 20 || part.Run.Shard.Count != 3 {
		t.Errorf("reason %q, published %d, count %d", reason, part.Load.Ledger.Published, part.Run.Shard.Count)
	}
	none, missing, err := MergeAvailable("r", 2, nil)
	if err != nil || len(missing) != 2 || none.Verdict() != Incomplete || none.Passing() {
		t.Errorf("no shard: %v %v %v", missing, err, none.Verdict())
	}
	// What MergeAvailable made passes through Merge (the report writers merge again).
	for _, m := range []*Results{all, part, none} {
		if again, err := Merge(m); err != nil || len(again) != 1 || again[0] != m {
			t.Errorf("Merge of a merged run: %v %v", again, err)
		}
	}
	for name, shards := range map[string][]*Results{
		"twice":     {shardOf("r", 1, 3), shardOf("r", 1, 3)},
		"other run": {shardOf("x", 1, 3)},
		"other n":   {shardOf("r", 1, 4)},
	} {
		if _, _, err := MergeAvailable("r", 3, shards); !errors.Is(err, ErrShards) {
			t.Errorf("%s: %v, want ErrShards", name, err)
		}
	}
}
