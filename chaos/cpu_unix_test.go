//go:build unix

package chaos

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the process has used, user and system (0 when unknown).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
