package main

import (
	"strings"
	"testing"
)

func TestScanAndTable(t *testing.T) {
	in := `goos: linux
pkg: github.com/hookproof/hookproof/suites/load
BenchmarkLoadVsVegeta-2   	       1	10126980438 ns/op	        37.50 hookproof_cpu_µs/req	     31764 hookproof_req/s	         0.9218 ratio	        34.36 vegeta_cpu_µs/req	     35770 vegeta_req/s
--- BENCH: BenchmarkLoadVsVegeta-2
    bench_test.go:100: plain Vegeta 35770 req/s
pkg: github.com/hookproof/hookproof/chaos
BenchmarkThroughput-2 	       1	4000000000 ns/op	 3000 chaos-req/s	 0.85 chaos/splice	 2.9 chaos/reverseproxy	 0.3 chaos/direct
ok  	github.com/hookproof/hookproof/chaos	4.1s
`
	var out strings.Builder
	all, failed, err := scan(strings.NewReader(in), &out)
	if err != nil || failed {
		t.Fatalf("scan: %v, failed %v", err, failed)
	}
	if out.String() != in {
		t.Errorf("the input is not copied as it is")
	}
	if got := all["suites/load BenchmarkLoadVsVegeta"]["ratio"]; got != 0.9218 {
		t.Errorf("ratio %v", got)
	}
	tab := table(all, "1.00 1.00 1.00")
	for _, want := range []string{"| hookproof load ÷ plain Vegeta | ≥ 0.97 | 0.922 | no |", "(ratio 0.916)", "| chaos proxy ÷ TCP splice | ≥ 0.80 | 0.850 | yes |",
		"| chaos proxy ÷ httputil.ReverseProxy | ≥ 2.5 | 2.900 | yes |", "load average 1.00 1.00 1.00", "BenchmarkReceiverVsBare did not report"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	if _, failed, _ := scan(strings.NewReader("--- FAIL: BenchmarkX\nFAIL\n"), &out); !failed {
		t.Error("a FAIL line is not noticed")
	}
}
