// Package browsercheck opens an HTML report in headless Chromium (driven by chromedp) and
// says what a reader would see: console errors, chart sizes, the verdict banner, a screenshot.
//
// It is for tests only: it links chromedp, which the hookproof binary must not carry. A test
// in this package fails if cmd/hookproof ever depends on it.
package browsercheck
