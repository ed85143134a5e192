package load

import (
	"errors"
	"testing"
)

func TestParseShardFlagAuto(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	for _, tc := range []struct {
		flag string
		env  map[string]string
		want Shard
		err  bool
	}{
		{"2/3", nil, Shard{2, 3}, false},
		{"auto/3", map[string]string{JobIndexEnv: "0"}, Shard{1, 3}, false},
		{"auto/3", map[string]string{JobIndexEnv: "2"}, Shard{3, 3}, false},
		{"auto", map[string]string{JobIndexEnv: "1", ShardCountEnv: "4"}, Shard{2, 4}, false},
		{"auto/3", map[string]string{JobIndexEnv: "3"}, Shard{}, true},  // 0-based: 3 is out of 0..2
		{"auto/3", map[string]string{JobIndexEnv: "-1"}, Shard{}, true}, // negative
		{"auto/3", map[string]string{JobIndexEnv: "x"}, Shard{}, true},
		{"auto/3", nil, Shard{}, true}, // not in a pod of an Indexed Job
		{"auto", map[string]string{JobIndexEnv: "0"}, Shard{}, true},
		{"auto/0", map[string]string{JobIndexEnv: "0"}, Shard{}, true},
		{"auto/5000", map[string]string{JobIndexEnv: "0"}, Shard{}, true},
	} {
		got, err := ParseShardFlag(tc.flag, env(tc.env))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseShardFlag(%q, %v) = %v, %v; want %v (error %v)", tc.flag, tc.env, got, err, tc.want, tc.err)
		}
		if err != nil && !errors.Is(err, ErrShard) {
			t.Errorf("%q: error %v does not wrap ErrShard", tc.flag, err)
		}
	}
}
