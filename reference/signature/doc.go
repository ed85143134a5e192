// Package signature signs and verifies webhook deliveries for the schemes hookproof speaks
// (Standard Webhooks, Stripe, GitHub, Shopify, Slack): over raw bytes, in constant time, with an
// injectable clock and tolerance.
package signature
