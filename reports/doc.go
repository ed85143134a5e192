// Package reports holds hookproof's results model (versioned JSON written by every run)
// and renders results into the HTML report, JUnit XML and Markdown summaries.
package reports
