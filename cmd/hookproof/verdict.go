package main

import "github.com/hookproof/hookproof/suites/session"

// The verdict's errors are the session's: one rule for every command (see suites/session).
var (
	errNonConformant     = session.ErrNonConformant
	errInconclusive      = session.ErrInconclusive
	verdictError         = session.VerdictError
	allowUnobservedUsage = session.AllowUnobservedUsage
)
