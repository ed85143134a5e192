package chaos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The inline spec, as given to --chaos on conform and load:
//
//	spec  = item *( "," item )
//	item  = type [ "=" value ] [ "(" param *( "," param ) ")" ]
//	param = key "=" value
//
// value is the probability (0.05 or 5%), or, for a type with a primary param, that param's
// value with probability 1 (delay=100ms-2s). Without a value the probability is 1. Inside
// the parentheses, the keys p (probability), name, method, path, attempts and header
// (Name:glob, repeatable) set the instance's metadata and match rules; every other key is
// a param of the fault type. Examples:
//
//	drop=0.05,lost-ack=0.05,duplicate=0.1,delay=0-2s,reorder=0.1
//	error=1(status=503,attempts=1-2),corrupt=0.1(target=signature)
//	delay=1(duration=1s~200ms,when=response,path=/webhooks/*)

// SpecError names the item of an inline spec that is wrong, counted from 1.
type SpecError struct {
	Item int
	Text string
	Err  error
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("chaos spec item %d %q: %v", e.Item, e.Text, e.Err)
}

func (e *SpecError) Unwrap() error { return e.Err }

// ParseSpec reads an inline spec (see the grammar above) and checks that every instance
// builds. An empty spec gives no faults.
func ParseSpec(s string) ([]FaultSpec, error) {
	items, err := splitTop(s)
	if err != nil {
		return nil, err
	}
	if len(items) > MaxFaults {
		return nil, fmt.Errorf("chaos spec: %d faults: %w", len(items), errTooManyFaults)
	}
	specs := make([]FaultSpec, 0, len(items))
	for i, it := range items {
		fs, err := parseItem(it)
		if err != nil {
			return nil, &SpecError{Item: i + 1, Text: it, Err: err}
		}
		specs = append(specs, fs)
	}
	named, err := nameSpecs(specs)
	if err != nil {
		return nil, err
	}
	for i, fs := range named {
		if _, err := buildInstance(fs); err != nil {
			return nil, &SpecError{Item: i + 1, Text: items[i], Err: err}
		}
	}
	return named, nil
}

// splitTop splits s at the commas outside parentheses, trimming blanks and empty items.
func splitTop(s string) ([]string, error) {
	var items []string
	depth, start := 0, 0
	flush := func(end int) {
		if it := strings.TrimSpace(s[start:end]); it != "" {
			items = append(items, it)
		}
		start = end + 1
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
			if depth > 1 {
				return nil, &SpecError{Item: len(items) + 1, Text: strings.TrimSpace(s[start:]), Err: errors.New("nested parentheses")}
			}
		case ')':
			depth--
			if depth < 0 {
				return nil, &SpecError{Item: len(items) + 1, Text: strings.TrimSpace(s[start : i+1]), Err: errors.New("unbalanced )")}
			}
		case ',':
			if depth == 0 {
				flush(i)
			}
		}
	}
	if depth != 0 {
		return nil, &SpecError{Item: len(items) + 1, Text: strings.TrimSpace(s[start:]), Err: errors.New("missing )")}
	}
	flush(len(s))
	return items, nil
}

func parseItem(it string) (FaultSpec, error) {
	head, inner := it, ""
	if i := strings.IndexByte(it, '('); i >= 0 {
		if !strings.HasSuffix(it, ")") {
			return FaultSpec{}, errors.New("text after )")
		}
		head, inner = strings.TrimSpace(it[:i]), it[i+1:len(it)-1]
	}
	typ, value, hasValue := strings.Cut(head, "=")
	fs := FaultSpec{Type: strings.TrimSpace(typ), Probability: 1}
	t, err := LookupType(fs.Type)
	if err != nil {
		return fs, err
	}
	if value = strings.TrimSpace(value); hasValue {
		if value == "" {
			return fs, errors.New("empty value after =")
		}
		if p, err := parseFraction(value); err == nil {
			fs.Probability = p
		} else if t.Primary != "" {
			fs.Params = Params{t.Primary: value}
		} else {
			return fs, fmt.Errorf("%q is not a probability (like 0.05 or 5%%)", value)
		}
	}
	if strings.TrimSpace(inner) == "" {
		return fs, nil
	}
	for _, kv := range strings.Split(inner, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return fs, fmt.Errorf("param %q: want key=value", strings.TrimSpace(kv))
		}
		if err := setField(&fs, k, v); err != nil {
			return fs, err
		}
	}
	return fs, nil
}

// setField sets one key of an inline item: metadata, a match rule, or a param.
func setField(fs *FaultSpec, k, v string) error {
	switch k {
	case "p", "probability":
		p, err := parseFraction(v)
		if err != nil {
			return fmt.Errorf("probability %q: %w", v, err)
		}
		fs.Probability = p
	case "name":
		fs.Name = v
	case "method":
		fs.Match.Method = v
	case "path":
		fs.Match.Path = v
	case "attempts":
		fs.Match.Attempts = v
	case "header":
		name, glob, ok := strings.Cut(v, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return fmt.Errorf("header %q: want Name:value", v)
		}
		if fs.Match.Header == nil {
			fs.Match.Header = map[string]string{}
		}
		fs.Match.Header[strings.TrimSpace(name)] = strings.TrimSpace(glob)
	default:
		if fs.Params == nil {
			fs.Params = Params{}
		}
		if _, dup := fs.Params[k]; dup {
			return fmt.Errorf("param %s given twice", k)
		}
		fs.Params[k] = v
	}
	return nil
}

// String renders s in the inline grammar; ParseSpec reads it back.
func (s FaultSpec) String() string {
	var b strings.Builder
	b.WriteString(s.Type)
	b.WriteByte('=')
	b.WriteString(strconv.FormatFloat(s.Probability, 'g', -1, 64))
	var kv []string
	if s.Name != "" && s.Name != s.Type {
		kv = append(kv, "name="+s.Name)
	}
	if s.Match.Method != "" {
		kv = append(kv, "method="+s.Match.Method)
	}
	if s.Match.Path != "" {
		kv = append(kv, "path="+s.Match.Path)
	}
	if s.Match.Attempts != "" {
		kv = append(kv, "attempts="+s.Match.Attempts)
	}
	hs := make([]string, 0, len(s.Match.Header))
	for h, g := range s.Match.Header {
		hs = append(hs, "header="+h+":"+g)
	}
	sort.Strings(hs)
	kv = append(kv, hs...)
	ps := make([]string, 0, len(s.Params))
	for k, v := range s.Params {
		ps = append(ps, k+"="+v)
	}
	sort.Strings(ps)
	kv = append(kv, ps...)
	if len(kv) > 0 {
		b.WriteByte('(')
		b.WriteString(strings.Join(kv, ","))
		b.WriteByte(')')
	}
	return b.String()
}

// FormatSpec renders specs as one inline spec.
func FormatSpec(specs []FaultSpec) string {
	parts := make([]string, len(specs))
	for i, s := range specs {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

// ParseSpecOrFile reads s as a scenario file when it names a .yaml or .yml file, else as
// an inline spec (whose scenario then has no seed).
func ParseSpecOrFile(s string) (*Scenario, error) {
	if ext := strings.ToLower(filepath.Ext(strings.TrimSpace(s))); ext == ".yaml" || ext == ".yml" {
		if _, err := os.Stat(strings.TrimSpace(s)); err == nil {
			return LoadScenario(strings.TrimSpace(s))
		}
		return nil, fmt.Errorf("chaos scenario %s: %w", s, os.ErrNotExist)
	}
	specs, err := ParseSpec(s)
	if err != nil {
		return nil, err
	}
	return &Scenario{Faults: specs}, nil
}
