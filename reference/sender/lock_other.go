//go:build !unix

package sender

import (
	"fmt"
	"os"
)

// lockFile creates path but cannot lock it on this platform: run one sender per database.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sender: lock %s: %w", path, err)
	}
	return f, nil
}
