package sender

import (
	"errors"
	"fmt"
)

// Sentinel errors. The Sender wraps them with %w and a detail; the API maps them to statuses.
var (
	ErrNotFound = errors.New("not found")                                 // 404
	ErrInvalid  = errors.New("invalid request")                           // 400
	ErrConflict = errors.New("conflict")                                  // 409: idempotency key reused for another request
	ErrDisabled = errors.New("endpoint disabled")                         // 409: enable it first
	ErrTooLarge = errors.New("payload too large")                         // 413
	ErrClosed   = errors.New("sender closed")                             // 503
	ErrLocked   = errors.New("database in use by another sender process") // Open
)

func errBadRequest(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), ErrInvalid)
}
