// Command benchsummary reads `go test -bench` output on its standard input, copies it to its
// standard output as it comes, and at the end prints the table of speed figures: each
// a ratio measured side by side in one run (the benchmarks interleave their contenders), with
// the absolute numbers beside it and the machine's load average. `make bench` pipes into it.
// It exits 1 when the benchmarks failed (a FAIL line), so the pipe does not hide a failure.
//
//	go test -run '^$' -bench . ./... 2>&1 | go run ./cmd/hookproof/internal/benchsummary
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// metrics are one benchmark's reported values by unit ("ratio", "vegeta_req/s", ...).
type metrics map[string]float64

func main() {
	all, failed, err := scan(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchsummary:", err)
		os.Exit(2)
	}
	fmt.Println()
	fmt.Print(table(all, loadavg()))
	if failed {
		fmt.Println("\nsome benchmarks FAILED: see above")
		os.Exit(1)
	}
}

// scan copies in to out and collects every benchmark result line, keyed by package and
// benchmark name without its -GOMAXPROCS suffix ("suites/load BenchmarkLoadVsVegeta").
func scan(in io.Reader, out io.Writer) (map[string]metrics, bool, error) {
	all := map[string]metrics{}
	failed := false
	pkg := ""
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(out, line)
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimSpace(p), "github.com/hookproof/hookproof/")
			continue
		}
		if strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "--- FAIL") {
			failed = true
			continue
		}
		name, m, ok := parseResult(line)
		if ok {
			all[pkg+" "+name] = m
		}
	}
	return all, failed, sc.Err()
}

// parseResult parses "BenchmarkX-2   1   123 ns/op   0.97 ratio ..." into its name and values.
func parseResult(line string) (string, metrics, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return "", nil, false
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return "", nil, false
	}
	name := f[0]
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	m := metrics{}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", nil, false
		}
		m[f[i+1]] = v
	}
	return name, m, true
}

// row is one line of the summary table.
type row struct{ figure, target, ratio, met, absolute string }

// table renders the figures from what the run reported; a figure whose benchmark did
// not run (filtered out, or failed) says so.
func table(all map[string]metrics, load string) string {
	get := func(key string) metrics { return all[key] }
	missing := func(figure, target, key string) row {
		return row{figure, target, "—", "not measured", "not measured (" + key + " did not report)"}
	}
	var rows []row

	const rvb = "reference/receiver BenchmarkReceiverVsBare"
	if m := get(rvb); m != nil {
		v := m["median_round_%_of_bare"] / 100
		rows = append(rows, row{"receiver ÷ bare 200-OK handler (acks/s)", "≥ 0.60", f3(v), met(v >= 0.60),
			fmt.Sprintf("bare %.0f acks/s, receiver %.0f acks/s (best rounds); CPU per delivery %.0f µs vs %.0f µs (%.2f)",
				m["bare_acks/s"], m["receiver_acks/s"], m["bare_cpu_µs/delivery"], m["receiver_cpu_µs/delivery"], m["cpu_%_of_bare"]/100)})
	} else {
		rows = append(rows, missing("receiver ÷ bare 200-OK handler", "≥ 0.60", rvb))
	}
	const ral = "reference/receiver BenchmarkReceiverAckLatency"
	if m := get(ral); m != nil {
		rows = append(rows, row{"receiver p99 ack at 2,000/s", "< 5 ms",
			fmt.Sprintf("%.1f ms", m["receiver_p99_ms"]), met(m["receiver_p99_ms"] < 5 && m["receiver_success_%"] == 100),
			fmt.Sprintf("p50 %.2f ms; bare handler p50 %.2f ms, p99 %.1f ms; success %.1f%%",
				m["receiver_p50_ms"], m["bare_p50_ms"], m["bare_p99_ms"], m["receiver_success_%"])})
	} else {
		rows = append(rows, missing("receiver p99 ack at 2,000/s", "< 5 ms", ral))
	}
	const ct = "chaos BenchmarkThroughput"
	if m := get(ct); m != nil {
		abs := fmt.Sprintf("chaos %.0f req/s, splice %.0f, ReverseProxy %.0f, direct %.0f",
			m["chaos-req/s"], m["splice-req/s"], m["reverseproxy-req/s"], m["direct-req/s"])
		rows = append(rows,
			row{"chaos proxy ÷ TCP splice", "≥ 0.80", f3(m["chaos/splice"]), met(m["chaos/splice"] >= 0.80), abs},
			row{"chaos proxy ÷ httputil.ReverseProxy", "≥ 2.5", f3(m["chaos/reverseproxy"]), met(m["chaos/reverseproxy"] >= 2.5), "same rounds"},
			row{"chaos proxy ÷ direct", "reported", f3(m["chaos/direct"]), "—", fmt.Sprintf("ReverseProxy ÷ direct %.3f", m["reverseproxy/direct"])})
	} else {
		rows = append(rows, missing("chaos proxy ÷ TCP splice, ReverseProxy, direct", "≥ 0.80, ≥ 2.5", ct))
	}
	const cl = "chaos BenchmarkAddedLatency"
	if m := get(cl); m != nil {
		rows = append(rows, row{"chaos proxy added latency at 2,000/s", "p50 < 0.5 ms",
			fmt.Sprintf("%.3f ms", m["added-p50-ms"]), met(m["added-p50-ms"] < 0.5), fmt.Sprintf("added p99 %.1f ms", m["added-p99-ms"])})
	}
	for _, v := range []struct{ key, figure string }{
		{"suites/load BenchmarkLoadVsVegeta", "hookproof load ÷ plain Vegeta"},
		{"suites/load BenchmarkLoadVsVegetaHTTPS", "hookproof load ÷ plain Vegeta, HTTPS"},
	} {
		m := get(v.key)
		if m == nil {
			rows = append(rows, missing(v.figure, "≥ 0.97", v.key))
			continue
		}
		cpu := ""
		if m["hookproof_cpu_µs/req"] > 0 {
			cpu = fmt.Sprintf("; CPU per request %.1f µs vs %.1f µs (ratio %.3f)",
				m["vegeta_cpu_µs/req"], m["hookproof_cpu_µs/req"], m["vegeta_cpu_µs/req"]/m["hookproof_cpu_µs/req"])
		}
		rows = append(rows, row{v.figure, "≥ 0.97", f3(m["ratio"]), met(m["ratio"] >= 0.97),
			fmt.Sprintf("Vegeta %.0f req/s, hookproof %.0f req/s%s", m["vegeta_req/s"], m["hookproof_req/s"], cpu)})
	}
	const lm = "suites/load BenchmarkLoadMemory"
	if m := get(lm); m != nil {
		rows = append(rows, row{"hookproof load memory per event (1,000/s, sink included)", "printed, not asserted",
			fmt.Sprintf("%.0f B/event", m["live_bytes/event"]), "—",
			fmt.Sprintf("live heap %.1f MB, RSS %.1f MB at the end (RSS growth %.0f B/event)",
				m["live_heap_MB"], m["rss_MB"], m["rss_bytes/event"])})
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Summary (ratios measured side by side in this run; load average %s)\n\n", load)
	b.WriteString("| figure | target | measured | met | absolute |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.figure, r.target, r.ratio, r.met, r.absolute)
	}
	return b.String()
}

// met says whether a figure of this run meets its target.
func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func f3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// loadavg is the 1-, 5- and 15-minute load averages, "?" where /proc has none.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
