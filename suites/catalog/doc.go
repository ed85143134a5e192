// Package catalog is the requirements catalogue: every case hookproof grades, with its stable
// literal ID, level, one-sentence requirement and source, kept as data (the *.yaml files here).
package catalog
