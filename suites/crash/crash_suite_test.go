package crash_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/hookproof/hookproof/suites/target"
)

func TestCrash(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Crash consistency")
}

// image is the hookproof image every drill runs, built once from this checkout.
var image string

var _ = BeforeSuite(func(ctx SpecContext) {
	skip, err := target.TestPolicy(ctx, os.Getenv)
	Expect(err).NotTo(HaveOccurred(), "crash-consistency specs need a Docker engine under CI")
	if skip != "" {
		// Loud on purpose: a skipped crash suite proves nothing, and must not look green.
		fmt.Fprintln(os.Stderr, "\n*** hookproof crash suite: "+skip+" ***")
		Skip(skip)
	}
	image, err = target.BuildImage(ctx)
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("hookproof image: %s\n", image)
}, NodeTimeout(5*time.Minute))
