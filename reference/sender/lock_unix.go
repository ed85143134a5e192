//go:build unix

package sender

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive, non-blocking flock on path (created 0600). The kernel drops it
// when the process dies, kill -9 included, so a restarted sender gets it back at once.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sender: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("sender: %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("sender: lock %s: %w", path, err)
	}
	return f, nil
}
