package chaos

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	cases := []struct {
		in   string
		want []FaultSpec
	}{
		{"", []FaultSpec{}},
		{"drop=0.05,lost-ack=0.05,duplicate=0.1,delay=0-2s,reorder=0.1", []FaultSpec{
			{Name: "drop", Type: "drop", Probability: 0.05},
			{Name: "lost-ack", Type: "lost-ack", Probability: 0.05},
			{Name: "duplicate", Type: "duplicate", Probability: 0.1},
			{Name: "delay", Type: "delay", Probability: 1, Params: Params{"duration": "0-2s"}},
			{Name: "reorder", Type: "reorder", Probability: 0.1},
		}},
		{" drop = 5% , timeout ", []FaultSpec{
			{Name: "drop", Type: "drop", Probability: 0.05},
			{Name: "timeout", Type: "timeout", Probability: 1},
		}},
		{"error=1(status=503,attempts=1-2,method=POST,path=/hooks/*,header=X-Env:prod*),error=0.1(name=flaky,status=500)", []FaultSpec{
			{Name: "error", Type: "error", Probability: 1, Params: Params{"status": "503"},
				Match: Match{Attempts: "1-2", Method: "POST", Path: "/hooks/*", Header: map[string]string{"X-Env": "prod*"}}},
			{Name: "flaky", Type: "error", Probability: 0.1, Params: Params{"status": "500"}},
		}},
		{"delay(duration=1s~200ms,when=response,p=0.5),delay=2s", []FaultSpec{
			{Name: "delay", Type: "delay", Probability: 0.5, Params: Params{"duration": "1s~200ms", "when": "response"}},
			{Name: "delay-2", Type: "delay", Probability: 1, Params: Params{"duration": "2s"}},
		}},
	}
	for _, tc := range cases {
		got, err := ParseSpec(tc.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseSpec(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
		back, err := ParseSpec(FormatSpec(got))
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("round trip of %q via %q: %+v, %v", tc.in, FormatSpec(got), back, err)
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	cases := []struct {
		in       string
		item     int
		contains string
	}{
		{"drop=0.1,bogus=0.2", 2, "unknown fault type"},
		{"drop=1.5", 1, "out of range"},
		{"drop=lots", 1, "not a probability"},
		{"drop=0.1,delay=forever", 2, "duration"},
		{"drop(mode=sideways)", 1, "param mode"},
		{"drop(colour=red)", 1, "unknown param"},
		{"drop(p)", 1, "want key=value"},
		{"drop(p=0.1", 1, "missing )"},
		{"drop),delay", 1, "unbalanced"},
		{"drop=0.1,error(attempts=0)", 2, "attempts"},
		{"error(status=200)", 1, "param status"},
		{"drop(name=a b)", 1, "name"},
		{"drop(name=x),delay(name=x)", 0, "already exists"},
		{"drop((p=1))", 1, "nested"},
		{"drop=", 1, "empty value"},
		{"reset(at=1)", 1, "strictly between"},
	}
	for _, tc := range cases {
		_, err := ParseSpec(tc.in)
		if err == nil {
			t.Errorf("ParseSpec(%q) succeeded, want an error", tc.in)
			continue
		}
		if !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("ParseSpec(%q) = %v, want it to mention %q", tc.in, err, tc.contains)
		}
		var se *SpecError
		if tc.item > 0 && (!errors.As(err, &se) || se.Item != tc.item) {
			t.Errorf("ParseSpec(%q) = %v, want it to name item %d", tc.in, err, tc.item)
		}
	}
}

func TestParseDist(t *testing.T) {
	good := map[string]string{"2s": "2s", "100ms-2s": "100ms-2s", "0-2s": "0s-2s", "1s~200ms": "1s~200ms", "1.5": "1.5s"}
	for in, want := range good {
		d, err := ParseDist(in)
		if err != nil || d.String() != want {
			t.Errorf("ParseDist(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	for _, bad := range []string{"", "x", "2s-1s", "-1s", "1s~", "~1s", "1s-x"} {
		if _, err := ParseDist(bad); err == nil {
			t.Errorf("ParseDist(%q) succeeded, want an error", bad)
		}
	}
	// Samples stay in range, and a normal distribution centres on its mean.
	r := newRand(1)
	u, _ := ParseDist("10ms-20ms")
	n, _ := ParseDist("100ms~10ms")
	var sum float64
	const draws = 4000
	for i := 0; i < draws; i++ {
		if d := u.Sample(r); d < 10e6 || d > 20e6 {
			t.Fatalf("uniform sample %s outside 10ms-20ms", d)
		}
		sum += float64(n.Sample(r))
	}
	// The mean of 4000 draws has a standard error of 10ms/sqrt(4000) = 0.16ms; allow 1ms.
	if mean := sum / draws / 1e6; mean < 99 || mean > 101 {
		t.Errorf("normal mean = %.2fms, want 100ms", mean)
	}
}

func TestParseScenario(t *testing.T) {
	src := `# a scenario
seed: 42
description: first two attempts fail, then slow
faults:
  - type: error
    name: first-two
    match:
      attempts: 1-2
      method: POST
      header: {webhook-id: "msg_*"}
    status: 503
  - type: delay
    probability: 25%
    params:
      duration: 100ms-2s
  - type: delay
    duration: 1s
`
	sc, err := ParseScenario([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Seed == nil || *sc.Seed != 42 {
		t.Errorf("seed = %v, want 42", sc.Seed)
	}
	want := []FaultSpec{
		{Name: "first-two", Type: "error", Probability: 1, Params: Params{"status": "503"},
			Match: Match{Attempts: "1-2", Method: "POST", Header: map[string]string{"webhook-id": "msg_*"}}},
		{Name: "delay", Type: "delay", Probability: 0.25, Params: Params{"duration": "100ms-2s"}},
		{Name: "delay-2", Type: "delay", Probability: 1, Params: Params{"duration": "1s"}},
	}
	if !reflect.DeepEqual(sc.Faults, want) {
		t.Errorf("faults\n got %+v\nwant %+v", sc.Faults, want)
	}
}

func TestParseScenarioErrors(t *testing.T) {
	cases := []struct {
		name, src string
		line      int
		field     string
	}{
		{"syntax", "seed: 1\nfaults:\n  - type: drop\n\tmode: x\n", 3, "(syntax)"},
		{"empty", "", 1, "(document)"},
		{"not a mapping", "- drop\n", 1, "(document)"},
		{"unknown top", "seed: 1\nfautls: []\n", 2, "fautls"},
		{"bad seed", "seed: abc\nfaults: []\n", 1, "seed"},
		{"faults not list", "faults: drop\n", 1, "faults"},
		{"missing faults", "seed: 3\n", 1, "faults"},
		{"missing type", "faults:\n  - probability: 0.1\n", 2, "faults[0].type"},
		{"unknown type", "faults:\n  - type: drop\n  - type: explode\n", 3, "faults[1].type"},
		{"probability", "faults:\n  - type: drop\n    probability: 1.5\n", 3, "faults[0].probability"},
		{"probability text", "faults:\n  - type: drop\n    probability: often\n", 3, "faults[0].probability"},
		{"bad param", "faults:\n  - type: drop\n\n    mode: sideways\n", 4, "faults[0].mode"},
		{"unknown param", "faults:\n  - type: delay\n    duration: 1s\n    colour: red\n", 4, "faults[0].colour"},
		{"bad params block param", "faults:\n  - type: delay\n    params:\n      duration: soon\n", 4, "faults[0].duration"},
		{"bad attempts", "faults:\n  - type: drop\n    match:\n      attempts: 0\n", 4, "faults[0].match.attempts"},
		{"unknown match", "faults:\n  - type: drop\n    match:\n      host: x\n", 4, "faults[0].match.host"},
		{"bad header", "faults:\n  - type: drop\n    match:\n      header: {\"a b\": x}\n", 4, "faults[0].match.header.a b"},
		{"list as param", "faults:\n  - type: error\n    status: [500, 502]\n", 3, "faults[0].status"},
		{"duplicate name", "faults:\n  - {type: drop, name: x}\n  - {type: delay, name: x}\n", 3, "faults[1].name"},
		{"duplicate key", "faults:\n  - type: drop\n    type: delay\n", 3, "faults[0].type"},
		{"fault not mapping", "faults:\n  - drop\n", 2, "faults[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tc.src))
			var se *ScenarioError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *ScenarioError", err)
			}
			if se.Line != tc.line || se.Field != tc.field {
				t.Errorf("err = %v: line %d field %q, want line %d field %q", err, se.Line, se.Field, tc.line, tc.field)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("message %q does not name the line", err)
			}
		})
	}
}

func TestParseSpecOrFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte("seed: 7\nfaults:\n  - type: drop\n    probability: 0.5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := ParseSpecOrFile(path)
	if err != nil || *sc.Seed != 7 || len(sc.Faults) != 1 || sc.Faults[0].Probability != 0.5 {
		t.Errorf("file: %+v, %v", sc, err)
	}
	sc, err = ParseSpecOrFile("drop=0.2")
	if err != nil || sc.Seed != nil || len(sc.Faults) != 1 {
		t.Errorf("inline: %+v, %v", sc, err)
	}
	if _, err := ParseSpecOrFile(filepath.Join(dir, "missing.yml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("faults:\n  - type: nope\n"), 0o600)
	if _, err := ParseSpecOrFile(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad file: %v, want the path and line 2", err)
	}
}

// The example in testdata is the one the README shows: it must stay valid.
func TestExampleScenario(t *testing.T) {
	sc, err := LoadScenario("testdata/flaky-network.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Seed == nil || *sc.Seed != 42 || len(sc.Faults) != 6 || sc.Faults[0].Name != "first-two-fail" {
		t.Errorf("scenario = %+v", sc)
	}
}

func FuzzParseScenario(f *testing.F) {
	f.Add([]byte("seed: 1\nfaults:\n  - type: drop\n    probability: 0.1\n    mode: 502\n"))
	f.Add([]byte("faults:\n  - type: error\n    match: {attempts: 1-2, header: {a: b}}\n    status: 429\n"))
	f.Add([]byte("faults: [{type: delay, duration: 1s~1ms, when: both}]"))
	f.Add([]byte("a: &x [*x]"))
	f.Add([]byte("faults:\n  - &f {type: drop}\n  - *f\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := ParseScenario(data)
		if err != nil {
			var se *ScenarioError
			if !errors.As(err, &se) || se.Line < 1 || se.Field == "" {
				t.Fatalf("error %v is not a ScenarioError naming a line and field", err)
			}
			return
		}
		// Whatever parses must build.
		if err := CheckSpecs(sc.Faults); err != nil {
			t.Fatalf("parsed scenario does not build: %v", err)
		}
	})
}

func FuzzParseSpec(f *testing.F) {
	f.Add("drop=0.05,lost-ack=0.05,duplicate=0.1,delay=0-2s,reorder=0.1")
	f.Add("error=1(status=503|429,attempts=1-2,header=X:y*)")
	f.Add("delay(duration=1s~2ms,p=50%)")
	f.Fuzz(func(t *testing.T, s string) {
		specs, err := ParseSpec(s)
		if err != nil {
			return
		}
		if err := CheckSpecs(specs); err != nil {
			t.Fatalf("parsed spec does not build: %v", err)
		}
		// What the formatter writes, the parser reads back, when nothing needs quoting.
		if strings.ContainsAny(s, ",()=:") && !strings.ContainsAny(FormatSpec(specs), "\n") {
			if _, err := ParseSpec(FormatSpec(specs)); err != nil && !strings.Contains(err.Error(), "already exists") {
				t.Logf("format %q does not parse back: %v", FormatSpec(specs), err)
			}
		}
	})
}
