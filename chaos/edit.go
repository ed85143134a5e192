package chaos

import (
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
)

// Faults returns the active fault instances, outermost first, with their names filled in.
func (p *Proxy) Faults() []FaultSpec {
	chain := *p.chain.Load()
	out := make([]FaultSpec, len(chain))
	for i, in := range chain {
		out[i] = in.spec
		out[i].Params = cloneParams(in.spec.Params)
		out[i].Match.Header = cloneParams(in.spec.Match.Header)
	}
	return out
}

// SetFaults replaces every fault instance. On error nothing changes.
func (p *Proxy) SetFaults(specs ...FaultSpec) error {
	if len(specs) > MaxFaults {
		return fmt.Errorf("%d faults: %w", len(specs), errTooManyFaults)
	}
	p.editMu.Lock()
	defer p.editMu.Unlock()
	named, err := nameSpecs(specs)
	if err != nil {
		return err
	}
	chain := make([]*instance, 0, len(named))
	for _, s := range named {
		in, err := p.instance(s, nil)
		if err != nil {
			return err
		}
		chain = append(chain, in)
	}
	p.setChain(chain)
	return nil
}

// AddFault inserts a fault instance at position at (0 is outermost; at < 0 or past the end
// appends) and returns it with its name filled in.
func (p *Proxy) AddFault(s FaultSpec, at int) (FaultSpec, error) {
	p.editMu.Lock()
	defer p.editMu.Unlock()
	old := *p.chain.Load()
	if len(old) >= MaxFaults {
		return s, errTooManyFaults
	}
	taken := map[string]bool{}
	for _, in := range old {
		taken[in.spec.Name] = true
	}
	if s.Name == "" {
		s.Name = freeName(s.Type, taken)
	} else if taken[s.Name] {
		return s, fmt.Errorf("fault %s: %w", s.Name, ErrDuplicateName)
	}
	in, err := p.instance(s, nil)
	if err != nil {
		return s, err
	}
	if at < 0 || at > len(old) {
		at = len(old)
	}
	chain := slices.Insert(slices.Clone(old), at, in)
	p.setChain(chain)
	return in.spec, nil
}

// UpdateFault replaces the instance called name with s, in the same position. An empty
// s.Name keeps the name. An instance whose type and params are unchanged keeps its state
// (a reorder batch in progress), so changing a probability or a match rule is seamless.
func (p *Proxy) UpdateFault(name string, s FaultSpec) (FaultSpec, error) {
	p.editMu.Lock()
	defer p.editMu.Unlock()
	old := *p.chain.Load()
	i := slices.IndexFunc(old, func(in *instance) bool { return in.spec.Name == name })
	if i < 0 {
		return s, fmt.Errorf("fault %s: %w", name, ErrNoSuchFault)
	}
	if s.Name == "" {
		s.Name = name
	}
	if s.Name != name && slices.ContainsFunc(old, func(in *instance) bool { return in.spec.Name == s.Name }) {
		return s, fmt.Errorf("fault %s: %w", s.Name, ErrDuplicateName)
	}
	in, err := p.instance(s, old[i])
	if err != nil {
		return s, err
	}
	chain := slices.Clone(old)
	chain[i] = in
	p.setChain(chain)
	return in.spec, nil
}

// RemoveFault removes the instance called name. Requests already inside it finish there.
func (p *Proxy) RemoveFault(name string) error {
	p.editMu.Lock()
	defer p.editMu.Unlock()
	old := *p.chain.Load()
	i := slices.IndexFunc(old, func(in *instance) bool { return in.spec.Name == name })
	if i < 0 {
		return fmt.Errorf("fault %s: %w", name, ErrNoSuchFault)
	}
	chain := slices.Delete(slices.Clone(old), i, i+1)
	p.setChain(chain)
	return nil
}

// instance builds s, reusing prev's Fault when type and params did not change.
func (p *Proxy) instance(s FaultSpec, prev *instance) (*instance, error) {
	var in *instance
	if prev != nil && prev.spec.Type == s.Type && maps.Equal(prev.spec.Params, s.Params) {
		if err := s.validate(); err != nil {
			return nil, fmt.Errorf("fault %s: %w", s.Name, err)
		}
		m, err := s.Match.compile()
		if err != nil {
			return nil, fmt.Errorf("fault %s: %w", s.Name, err)
		}
		in = &instance{spec: s, fault: prev.fault, match: m, salt: hashString(0, s.Name)}
	} else {
		var err error
		if in, err = buildInstance(s); err != nil {
			return nil, fmt.Errorf("fault %s: %w", s.Name, err)
		}
	}
	in.spec.Params = cloneParams(s.Params)
	in.spec.Match.Header = cloneParams(s.Match.Header)
	in.count = p.counter(s.Name)
	return in, nil
}

func cloneParams[M ~map[string]string](m M) M {
	if m == nil {
		return nil
	}
	out := make(M, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// setChain makes chain the active one and remembers its specs, so that the stats of an
// instance removed later still say what it was.
func (p *Proxy) setChain(chain []*instance) {
	p.countMu.Lock()
	for _, in := range chain {
		p.specs[in.spec.Name] = in.spec
	}
	p.countMu.Unlock()
	p.chain.Store(&chain)
}

func (p *Proxy) counter(name string) *atomic.Int64 {
	p.countMu.Lock()
	defer p.countMu.Unlock()
	c, ok := p.counters[name]
	if !ok {
		c = new(atomic.Int64)
		p.counters[name] = c
	}
	return c
}

// Stats returns the proxy's counters.
func (p *Proxy) Stats() Stats {
	st := Stats{
		Seed: p.seed, Requests: p.requests.Load(), Copies: p.copies.Load(), Forwarded: p.forwarded.Load(),
		Faults: map[string]int64{}, Outcomes: map[string]int64{}, LedgerDropped: p.ledger.droppedCount(),
	}
	chain := *p.chain.Load()
	p.countMu.Lock()
	for name, c := range p.counters {
		st.Faults[name] = c.Load()
	}
	st.Instances = p.instanceStats(chain, st.Faults)
	p.countMu.Unlock()
	for i := range p.outcomes {
		if n := p.outcomes[i].Load(); n > 0 {
			st.Outcomes[outcomeNames[i]] = n
		}
	}
	return st
}

// instanceStats describes the instances of chain, outermost first, then those no longer in
// it that fired since the last reset, by name; counts are from counts. countMu is held.
func (p *Proxy) instanceStats(chain []*instance, counts map[string]int64) []FaultStat {
	out := make([]FaultStat, 0, len(chain))
	seen := make(map[string]bool, len(chain))
	for _, in := range chain {
		seen[in.spec.Name] = true
		out = append(out, faultStat(in.spec, counts[in.spec.Name]))
	}
	var gone []string
	for name, n := range counts {
		if _, ok := p.specs[name]; ok && !seen[name] && n > 0 {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	for _, name := range gone {
		out = append(out, faultStat(p.specs[name], counts[name]))
	}
	return out
}

func faultStat(s FaultSpec, n int64) FaultStat {
	st := FaultStat{Name: s.Name, Type: s.Type, Spec: s.String(), Probability: s.Probability,
		Params: cloneParams(s.Params), Count: n}
	if t, err := LookupType(s.Type); err == nil {
		st.Kind = t.KindOf(s.Params)
	}
	return st
}

// Ledger returns the kept ledger entries, oldest first.
func (p *Proxy) Ledger() []Entry { return p.ledger.entries() }

// Reset clears the ledger, the counters and the attempt counts (so the next request of
// every delivery is attempt 1 again). Fault instances stay.
func (p *Proxy) Reset() {
	p.editMu.Lock()
	defer p.editMu.Unlock()
	p.ledger.reset()
	p.attempts.reset()
	p.seq.Store(0)
	p.anon.Store(0)
	p.requests.Store(0)
	p.copies.Store(0)
	p.forwarded.Store(0)
	for i := range p.outcomes {
		p.outcomes[i].Store(0)
	}
	active := map[string]bool{}
	for _, in := range *p.chain.Load() {
		active[in.spec.Name] = true
	}
	p.countMu.Lock()
	for name, c := range p.counters {
		c.Store(0)
		if !active[name] {
			delete(p.counters, name)
			delete(p.specs, name)
		}
	}
	p.countMu.Unlock()
}
