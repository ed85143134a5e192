//go:build !unix

package load_test

import "time"

// processCPU is not measured on this platform: the benchmark then reports rates only.
func processCPU() time.Duration { return 0 }
