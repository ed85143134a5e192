// Package harness runs a Ginkgo conformance suite in process and turns it into reports.Results:
// catalogue-driven cases, applicability rules, recorded HTTP evidence, and the target under test.
package harness
