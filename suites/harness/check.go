package harness

import (
	"fmt"
	"strings"
	"sync"

	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/catalog"
	"github.com/onsi/ginkgo/v2"
)

// Check is the running case's notebook: the requirement it checks, the exchanges it recorded
// as evidence, what it expected and what it saw. The harness makes one per case; a case's
// goroutines may record into it concurrently.
type Check struct {
	Req catalog.Requirement

	mu        sync.Mutex
	exchanges []reports.Exchange
	expected  string
	actual    string
	notes     []string
}

func newCheck(req catalog.Requirement) *Check { return &Check{Req: req} }

// MaxEvidence bounds the exchanges kept per case; a burst keeps its first ones.
const MaxEvidence = 40

// Record adds one exchange to the case's evidence.
func (c *Check) Record(x reports.Exchange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.exchanges) < MaxEvidence {
		c.exchanges = append(c.exchanges, x)
	}
}

// Expect states what the case expects, shown as "expected" if it fails.
func (c *Check) Expect(format string, a ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expected = fmt.Sprintf(format, a...)
}

// Note adds a remark kept with the case's outcome (for example what could not be observed).
func (c *Check) Note(format string, a ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notes = append(c.notes, fmt.Sprintf(format, a...))
}

// Assert fails the case unless ok, with what it expected and what it saw instead. Like
// ginkgo.Fail it stops the spec, so call it from the spec's goroutine.
func (c *Check) Assert(ok bool, expected, actual string) {
	if ok {
		return
	}
	c.Fail(expected, actual)
}

// Fail fails the case with expected and actual.
func (c *Check) Fail(expected, actual string) {
	c.mu.Lock()
	c.expected, c.actual = expected, actual
	c.mu.Unlock()
	ginkgo.Fail("expected: "+expected+"\nactual: "+actual, 2)
}

func (c *Check) snapshot() (ex []reports.Exchange, expected, actual, notes string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]reports.Exchange(nil), c.exchanges...), c.expected, c.actual, strings.Join(c.notes, "; ")
}
