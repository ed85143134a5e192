// Package knownbad holds small in-memory webhook receivers, each broken in exactly one way,
// that prove the receiver conformance suite has teeth (and one flaw-free control).
package knownbad
