package chaos

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Fault is one kind of misbehaviour, applied to one exchange at a time.
//
// Apply decides what the client gets for x. It may pass x on by calling next (once, several
// times or never) and may change x before, or the Result after. Apply runs only when its
// instance matched and its probability fired: probability, match rules, counting and the
// ledger are the proxy's business, not the fault's. One Fault value serves every request of
// its instance, concurrently, so any state it keeps must be synchronised.
type Fault interface {
	Apply(x *Exchange, next Next) Result
}

// Next passes an exchange to the rest of the chain (the faults declared after the current
// one, then the upstream) and returns what came back.
type Next func(x *Exchange) Result

// End is how the client's side of an exchange ends.
type End uint8

const (
	// EndAnswer writes Status, Header and Body.
	EndAnswer End = iota
	// EndReset resets the connection (TCP RST) without answering.
	EndReset
	// EndResetPartway writes the first part of the response (see Result.Cut), then resets
	// the connection.
	EndResetPartway
	// EndHang answers nothing until the client gives up, HangMax passes (0: no limit) or
	// the proxy closes; then it resets the connection.
	EndHang
)

var endNames = [...]string{EndAnswer: "answer", EndReset: "reset", EndResetPartway: "reset-partway", EndHang: "hang"}

func (e End) String() string {
	if int(e) < len(endNames) {
		return endNames[e]
	}
	return fmt.Sprintf("End(%d)", e)
}

// Result is what an exchange produced: the upstream's answer, a synthetic one, or an End
// other than EndAnswer. The zero Result with a nil Err is an empty 502.
type Result struct {
	Status int
	Header http.Header
	Body   []byte
	// Err is set when the upstream could not be reached or answered badly; the client
	// then gets a 502 unless a fault decides otherwise.
	Err error
	End End
	// Cut is, with EndResetPartway, the fraction of the response's bytes on the wire
	// (status line, headers, body) written before the reset; at least one byte is written
	// and at least one is missing.
	Cut     float64
	HangMax time.Duration // with EndHang; 0 waits for the client
	pooled  *pooledBuf    // backing store of Body when it came from the upstream
}

// Discard releases the resources of a Result the fault will not return (a duplicate's
// answer, an answer replaced by an error). Calling it is optional but spares garbage.
func (r *Result) Discard() {
	if r.pooled != nil {
		r.pooled.release()
		r.pooled = nil
		r.Body = nil
	}
}

// Synthetic is an answer made up by the proxy, never forwarded.
func Synthetic(status int, header http.Header, body string) Result {
	if header == nil {
		header = http.Header{}
	}
	if header.Get("Content-Type") == "" {
		header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	return Result{Status: status, Header: header, Body: []byte(body)}
}

// Ended is a Result with no answer, ending the way e says.
func Ended(e End) Result { return Result{End: e} }

// FaultType is one registered kind of fault.
type FaultType struct {
	Name    string // as used in specs, flags and scenarios: "drop", "lost-ack", ...
	Summary string // one line for help texts
	// Kind is what the fault does to a delivery (KindLosesRequest, KindRepeats, ...). Reports
	// explain and grade each fault by it; the CLI orders its per-fault flags by it.
	Kind Kind
	// KindFor, when set, gives the kind of an instance whose params change what it does
	// (a timeout that forwards first loses the answer, not the request). Nil: always Kind.
	KindFor func(p Params) Kind
	// Primary is the param that a non-numeric inline value sets ("delay=100ms-2s" sets
	// "duration"); empty when the inline value is always a probability.
	Primary string
	// Params documents the params New accepts, name to one-line description.
	Params map[string]string
	// New makes a Fault from its params. It reads them through c, which reports bad and
	// unknown params; New returns an error only for problems c cannot see.
	New func(c *Config) (Fault, error)
}

var (
	registryMu sync.RWMutex
	registry   = map[string]FaultType{}
)

// ErrUnknownType is returned for a fault type nobody registered.
var ErrUnknownType = errors.New("unknown fault type")

// Register adds a fault type. It is meant for init() functions and panics on a programming
// error (empty name, nil New, a Kind not in Kinds, or a name registered twice), as
// http.Handle does.
func Register(t FaultType) {
	if t.Name == "" || t.New == nil {
		panic("chaos: Register needs a name and a New function")
	}
	if t.Kind.Doc() == "" {
		panic("chaos: fault type " + t.Name + ": kind " + strconv.Quote(string(t.Kind)) + " is not one of Kinds()")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[t.Name]; dup {
		panic("chaos: fault type registered twice: " + t.Name)
	}
	registry[t.Name] = t
}

// Types lists the registered fault types by name.
func Types() []FaultType {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]FaultType, 0, len(registry))
	for _, t := range registry {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupType returns the registered fault type called name.
func LookupType(name string) (FaultType, error) {
	registryMu.RLock()
	t, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return FaultType{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownType, name, typeNames())
	}
	return t, nil
}

// KindOf is the kind of an instance of t with params p.
func (t FaultType) KindOf(p Params) Kind {
	if t.KindFor != nil {
		if k := t.KindFor(p); k.Doc() != "" {
			return k
		}
	}
	return t.Kind
}

// TypeNames lists the registered fault types' names, comma-separated, for help texts.
func TypeNames() string { return typeNames() }

func typeNames() string {
	ts := Types()
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ", "
		}
		s += t.Name
	}
	return s
}

// Kind is what a fault does to a delivery, as its sender and its receiver see it.
type Kind string

// The kinds, in the order they act on an exchange: hold and slow the request, lose it or
// answer it without forwarding, damage it, multiply it, then lose or break the answer.
const (
	KindReorders     Kind = "reorders"      // requests reach the upstream in another order
	KindDelays       Kind = "delays"        // the request or its answer arrives late
	KindLosesRequest Kind = "loses-request" // the request never reaches the upstream
	KindErrors       Kind = "errors"        // an error answer made up by the proxy, not forwarded
	KindCorrupts     Kind = "corrupts"      // the upstream gets damaged bytes
	KindRepeats      Kind = "repeats"       // the upstream gets the same request more than once
	KindLosesAnswer  Kind = "loses-answer"  // the upstream processed it, the client gets no answer
)

var kindDocs = []struct {
	kind Kind
	doc  string
}{
	{KindReorders, "reorders requests"},
	{KindDelays, "delays the request or the answer"},
	{KindLosesRequest, "loses the request"},
	{KindErrors, "answers an error in the upstream's place"},
	{KindCorrupts, "corrupts the request"},
	{KindRepeats, "repeats the request"},
	{KindLosesAnswer, "loses the answer"},
}

// Kinds lists every kind, in the order they act on an exchange (see the constants).
func Kinds() []Kind {
	out := make([]Kind, len(kindDocs))
	for i, k := range kindDocs {
		out[i] = k.kind
	}
	return out
}

// Doc is the kind in a few words ("loses the answer"); empty for a string that is not a kind.
func (k Kind) Doc() string {
	for _, d := range kindDocs {
		if d.kind == k {
			return d.doc
		}
	}
	return ""
}

// Rank is the kind's position in Kinds(), or len(Kinds()) for a string that is not a kind.
func (k Kind) Rank() int {
	for i, d := range kindDocs {
		if d.kind == k {
			return i
		}
	}
	return len(kindDocs)
}
