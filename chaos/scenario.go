package chaos

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Scenario is a YAML scenario file:
//
//	seed: 42                 # optional; --seed wins over it
//	faults:                  # outermost first
//	  - type: error
//	    name: first-two-fail # optional
//	    probability: 1       # optional, default 1; 0.05 or "5%"
//	    match:               # optional
//	      method: POST
//	      path: /webhooks/*
//	      header: {webhook-id: "msg_*"}
//	      attempts: 1-2
//	    status: 503          # every other key is a param of the type
//	  - type: delay
//	    duration: 100ms-2s
type Scenario struct {
	Seed   *int64      `json:"seed,omitempty"`
	Faults []FaultSpec `json:"faults"`
}

// ScenarioError names the line and the field of a scenario that is wrong.
type ScenarioError struct {
	Line  int
	Field string // "faults[1].probability"; "(syntax)" for YAML that does not parse
	Err   error
}

func (e *ScenarioError) Error() string {
	return fmt.Sprintf("line %d: %s: %v", e.Line, e.Field, e.Err)
}

func (e *ScenarioError) Unwrap() error { return e.Err }

// LoadScenario reads and checks a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("chaos scenario: %w", err)
	}
	sc, err := ParseScenario(data)
	if err != nil {
		return nil, fmt.Errorf("chaos scenario %s: %w", path, err)
	}
	return sc, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// ParseScenario reads and checks a scenario; every error is a *ScenarioError.
func ParseScenario(data []byte) (*Scenario, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 1
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil {
				line = n
			}
		}
		return nil, &ScenarioError{Line: line, Field: "(syntax)", Err: errors.New(strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &ScenarioError{Line: 1, Field: "(document)", Err: errors.New("empty scenario")}
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, &ScenarioError{Line: root.Line, Field: "(document)", Err: errors.New("want a mapping with seed and faults")}
	}
	sc := &Scenario{}
	var faultsNode *yaml.Node
	err := eachKey(root, "", func(key string, k, v *yaml.Node) error {
		switch key {
		case "seed":
			n, err := scalar(v, key)
			if err != nil {
				return err
			}
			seed, perr := strconv.ParseInt(n, 0, 64)
			if perr != nil {
				return &ScenarioError{Line: v.Line, Field: key, Err: fmt.Errorf("%q is not an integer", n)}
			}
			sc.Seed = &seed
		case "faults":
			if v.Kind != yaml.SequenceNode {
				return &ScenarioError{Line: v.Line, Field: key, Err: errors.New("want a list of faults")}
			}
			faultsNode = v
		case "description":
			if _, err := scalar(v, key); err != nil {
				return err
			}
		default:
			return &ScenarioError{Line: k.Line, Field: key, Err: errors.New("unknown field (want seed, faults or description)")}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if faultsNode == nil {
		return nil, &ScenarioError{Line: root.Line, Field: "faults", Err: errors.New("missing")}
	}
	if n := len(faultsNode.Content); n > MaxFaults {
		return nil, &ScenarioError{Line: faultsNode.Line, Field: "faults", Err: fmt.Errorf("%d faults: %w", n, errTooManyFaults)}
	}
	taken := map[string]bool{}
	var nameless []int
	for i, n := range faultsNode.Content {
		fs, err := parseFaultNode(deref(n), fmt.Sprintf("faults[%d]", i))
		if err != nil {
			return nil, err
		}
		if fs.spec.Name == "" {
			nameless = append(nameless, i)
		} else if taken[fs.spec.Name] {
			return nil, &ScenarioError{Line: fs.lines["name"], Field: fmt.Sprintf("faults[%d].name", i), Err: ErrDuplicateName}
		}
		taken[fs.spec.Name] = true
		sc.Faults = append(sc.Faults, fs.spec)
	}
	nm := &namer{taken: taken}
	for _, i := range nameless {
		sc.Faults[i].Name = nm.free(sc.Faults[i].Type)
	}
	return sc, nil
}

// faultNode is a parsed fault with the line of each of its fields, for error messages.
type faultNode struct {
	spec  FaultSpec
	lines map[string]int
}

func parseFaultNode(n *yaml.Node, field string) (*faultNode, error) {
	if n.Kind != yaml.MappingNode {
		return nil, &ScenarioError{Line: n.Line, Field: field, Err: errors.New("want a mapping with type, probability, match and params")}
	}
	f := &faultNode{spec: FaultSpec{Probability: 1}, lines: map[string]int{"": n.Line}}
	spec := &f.spec
	var matchNode *yaml.Node
	err := eachKey(n, field+".", func(key string, k, v *yaml.Node) error {
		f.lines[key] = v.Line
		switch key {
		case "type", "name", "probability":
			s, err := scalar(v, field+"."+key)
			if err != nil {
				return err
			}
			switch key {
			case "type":
				spec.Type = s
			case "name":
				spec.Name = s
			default:
				p, perr := parseFraction(s)
				if perr != nil {
					return &ScenarioError{Line: v.Line, Field: field + ".probability", Err: fmt.Errorf("%q: %w", s, perr)}
				}
				spec.Probability = p
			}
		case "match":
			matchNode = v
		case "params":
			if v.Kind != yaml.MappingNode {
				return &ScenarioError{Line: v.Line, Field: field + ".params", Err: errors.New("want a mapping of param: value")}
			}
			return eachKey(v, field+".params.", func(pk string, _, pv *yaml.Node) error {
				return f.setParam(pk, pv, field+".params."+pk)
			})
		default:
			return f.setParam(key, v, field+"."+key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if spec.Type == "" {
		return nil, &ScenarioError{Line: n.Line, Field: field + ".type", Err: errors.New("missing")}
	}
	t, err := LookupType(spec.Type)
	if err != nil {
		return nil, &ScenarioError{Line: f.lines["type"], Field: field + ".type", Err: err}
	}
	if err := spec.validate(); err != nil {
		at := "probability"
		if strings.HasPrefix(err.Error(), "name") {
			at = "name"
		}
		return nil, &ScenarioError{Line: f.lines[at], Field: field + "." + at, Err: err}
	}
	if matchNode != nil {
		if err := f.parseMatch(matchNode, field+".match"); err != nil {
			return nil, err
		}
	}
	c := newConfig(spec.Params)
	_, nerr := t.New(c)
	if cerr := c.Err(); cerr != nil {
		var pe *ParamError
		if errors.As(cerr, &pe) {
			line := f.lines["param:"+pe.Param]
			if line == 0 {
				line = n.Line
			}
			return nil, &ScenarioError{Line: line, Field: field + "." + pe.Param, Err: pe}
		}
		return nil, &ScenarioError{Line: n.Line, Field: field, Err: cerr}
	}
	if nerr != nil {
		return nil, &ScenarioError{Line: n.Line, Field: field, Err: nerr}
	}
	return f, nil
}

func (f *faultNode) setParam(key string, v *yaml.Node, field string) error {
	s, err := scalar(v, field)
	if err != nil {
		return err
	}
	if f.spec.Params == nil {
		f.spec.Params = Params{}
	}
	if _, dup := f.spec.Params[key]; dup {
		return &ScenarioError{Line: v.Line, Field: field, Err: errors.New("param given twice")}
	}
	f.spec.Params[key] = s
	f.lines["param:"+key] = v.Line
	return nil
}

func (f *faultNode) parseMatch(n *yaml.Node, field string) error {
	if n.Kind != yaml.MappingNode {
		return &ScenarioError{Line: n.Line, Field: field, Err: errors.New("want a mapping of method, path, header, attempts")}
	}
	m := &f.spec.Match
	return eachKey(n, field+".", func(key string, k, v *yaml.Node) error {
		var probe Match
		switch key {
		case "method", "path", "attempts":
			s, err := scalar(v, field+"."+key)
			if err != nil {
				return err
			}
			switch key {
			case "method":
				m.Method, probe.Method = s, s
			case "path":
				m.Path, probe.Path = s, s
			default:
				m.Attempts, probe.Attempts = s, s
			}
		case "header":
			if v.Kind != yaml.MappingNode {
				return &ScenarioError{Line: v.Line, Field: field + ".header", Err: errors.New("want a mapping of header name: value glob")}
			}
			m.Header = map[string]string{}
			err := eachKey(v, field+".header.", func(h string, _, hv *yaml.Node) error {
				s, err := scalar(hv, field+".header."+h)
				if err != nil {
					return err
				}
				if _, err := (Match{Header: map[string]string{h: s}}).compile(); err != nil {
					return &ScenarioError{Line: hv.Line, Field: field + ".header." + h, Err: err}
				}
				m.Header[h] = s
				return nil
			})
			return err
		default:
			return &ScenarioError{Line: k.Line, Field: field + "." + key, Err: errors.New("unknown field (want method, path, header or attempts)")}
		}
		if _, err := probe.compile(); err != nil {
			return &ScenarioError{Line: v.Line, Field: field + "." + key, Err: err}
		}
		return nil
	})
}

// eachKey calls f for each key of a mapping node, rejecting non-scalar and repeated keys.
func eachKey(n *yaml.Node, prefix string, f func(key string, k, v *yaml.Node) error) error {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return &ScenarioError{Line: k.Line, Field: strings.TrimSuffix(prefix, "."), Err: errors.New("keys must be plain words")}
		}
		if k.Value == "" {
			return &ScenarioError{Line: k.Line, Field: prefix + `""`, Err: errors.New("empty key")}
		}
		if seen[k.Value] {
			return &ScenarioError{Line: k.Line, Field: prefix + k.Value, Err: errors.New("given twice")}
		}
		seen[k.Value] = true
		if err := f(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func scalar(n *yaml.Node, field string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", &ScenarioError{Line: n.Line, Field: field, Err: errors.New("want a single value")}
	}
	return strings.TrimSpace(n.Value), nil
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}
