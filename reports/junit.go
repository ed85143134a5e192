package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// JUnit XML, the lingua franca of CI test views: a <testsuite> per results file, a
// <testcase> per case and per load threshold. A failed case carries a <failure> with the
// requirement, expected and actual; cases that did not run are <skipped> with the reason.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds(ms float64) string {
	return strconv.FormatFloat(finite(ms)/1000, 'f', 3, 64)
}

// xmlSafe drops characters XML 1.0 cannot hold (encoding/xml would write U+FFFD for most,
// but not for every control character in attribute values) and scrubs secrets.
func xmlSafe(s string) string {
	s = scrubKnownSecrets(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF):
			return '\uFFFD'
		}
		return r
	}, s)
}

func junitSuiteFor(r *Results) junitSuite {
	s := junitSuite{Name: xmlSafe("hookproof " + string(r.Kind) + " " + r.Run.Target)}
	if !r.Run.Started.IsZero() {
		s.Timestamp = r.Run.Started.UTC().Format("2006-01-02T15:04:05")
	}
	if !r.Run.Started.IsZero() && r.Run.Finished.After(r.Run.Started) {
		s.Time = seconds(float64(r.Run.Finished.Sub(r.Run.Started).Milliseconds()))
	} else {
		s.Time = "0.000"
	}
	prop := func(k, v string) {
		if v != "" {
			s.Properties = append(s.Properties, junitProperty{Name: k, Value: xmlSafe(v)})
		}
	}
	prop("target", r.Run.Target)
	prop("scheme", r.Run.Scheme)
	prop("seed", strconv.FormatInt(r.Run.Seed, 10))
	prop("strict", strconv.FormatBool(r.Run.Strict))
	prop("chaos", r.Run.ChaosSpec)
	if t := r.Run.TLS; t != nil {
		prop("tls.version", t.Version)
		prop("tls.cipher", t.Cipher)
		prop("tls.insecure", strconv.FormatBool(t.Insecure))
		if t.Insecure {
			prop("warning", InsecureWarning)
		}
	}
	prop("verdict", string(r.Verdict()))
	keys := slices.Sorted(maps.Keys(r.Run.Versions))
	for _, k := range keys {
		prop("version."+k, r.Run.Versions[k])
	}
	class := "hookproof." + string(r.Kind)
	for _, c := range r.Cases {
		jc := junitCase{
			Name:      xmlSafe(c.ID + " [" + string(c.Level) + "] " + c.Requirement),
			Classname: xmlSafe(class + "." + orDefault(c.Family, "requirements")),
			Time:      seconds(c.DurationMS),
		}
		switch c.Outcome {
		case Passed:
		case Failed:
			s.Failures++
			var b strings.Builder
			fmt.Fprintf(&b, "%s [%s] %s\n", c.ID, c.Level, c.Requirement)
			if c.Source != "" {
				fmt.Fprintf(&b, "source:   %s\n", c.Source)
			}
			fmt.Fprintf(&b, "expected: %s\nactual:   %s\n", orDash(c.Expected), orDash(c.Actual))
			if c.Reason != "" {
				fmt.Fprintf(&b, "reason:   %s\n", c.Reason)
			}
			jc.Failure = &junitMessage{Message: xmlSafe(c.Requirement), Type: string(c.Level), Text: xmlSafe(b.String())}
		default:
			s.Skipped++
			msg := outcomeLabel(string(c.Outcome))
			if c.Reason != "" {
				msg += ": " + c.Reason
			}
			jc.Skipped = &junitMessage{Message: xmlSafe(msg)}
		}
		s.Cases = append(s.Cases, jc)
	}
	if l := r.Load; l != nil {
		for _, th := range l.Thresholds {
			jc := junitCase{Name: xmlSafe("threshold " + th.Expr), Classname: class + ".thresholds", Time: "0.000"}
			switch th.Result() {
			case Passed:
			case NotObservable:
				s.Skipped++
				jc.Skipped = &junitMessage{Message: xmlSafe(notObservedText(th))}
			default:
				s.Failures++
				jc.Failure = &junitMessage{Message: xmlSafe("threshold " + th.Expr + " failed: observed " + thresholdDisplay(th)),
					Type: "threshold", Text: xmlSafe(fmt.Sprintf("threshold: %s\nobserved:  %s\n", th.Expr, thresholdDisplay(th)))}
			}
			s.Cases = append(s.Cases, jc)
		}
		if l.Ledger.Void {
			s.Failures++
			s.Cases = append(s.Cases, junitCase{Name: "ledger is consistent", Classname: class + ".ledger", Time: "0.000",
				Failure: &junitMessage{Message: xmlSafe("ledger void: " + orDash(l.Ledger.VoidReason)), Type: "ledger"}})
		}
		if l.Outage != nil {
			s.Failures++
			s.Cases = append(s.Cases, junitCase{Name: "target answered until the end", Classname: class + ".run", Time: "0.000",
				Failure: &junitMessage{Message: xmlSafe(OutageLine(l.Outage)), Type: "outage"}})
		}
	}
	// A run that was stopped, or left MUST requirements unobserved, is not passed: a testcase
	// of its own says so, so that CI tools that only count failures do not show it green.
	if in := r.Interrupted; in != nil {
		s.Failures++
		s.Cases = append(s.Cases, junitCase{Name: "run completed", Classname: class + ".run", Time: "0.000",
			Failure: &junitMessage{Message: xmlSafe("interrupted: " + in.Reason), Type: "interrupted", Text: xmlSafe(r.Explain())}})
	} else if ids := r.UnobservedMust(); len(ids) > 0 {
		jc := junitCase{Name: "every MUST requirement observed", Classname: class + ".run", Time: "0.000"}
		msg := xmlSafe(r.Explain())
		if r.Run.AllowUnobserved {
			s.Skipped++
			jc.Skipped = &junitMessage{Message: msg}
		} else {
			s.Failures++
			jc.Failure = &junitMessage{Message: msg, Type: "incomplete"}
		}
		s.Cases = append(s.Cases, jc)
	}
	s.Tests = len(s.Cases)
	return s
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// WriteJUnit writes rs as JUnit XML: a testsuite per results file (merge shards first to get
// one per run), a testcase per case and per load threshold.
func WriteJUnit(w io.Writer, rs ...*Results) error {
	all := junitSuites{Name: "hookproof"}
	var total float64
	for i, r := range rs {
		if r == nil {
			return fmt.Errorf("reports: junit: results %d is nil", i+1)
		}
		s := junitSuiteFor(r)
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Skipped += s.Skipped
		if v, err := strconv.ParseFloat(s.Time, 64); err == nil {
			total += v
		}
		all.Suites = append(all.Suites, s)
	}
	all.Time = strconv.FormatFloat(total, 'f', 3, 64)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("reports: write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return fmt.Errorf("reports: write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("reports: write junit: %w", err)
	}
	return nil
}
