// Package signature signs and verifies webhook deliveries for the schemes hookproof speaks
// (Standard Webhooks, Stripe, GitHub, Shopify, Slack): over raw bytes, in constant time, with an
// injectable clock and tolerance.
//
// Rotation: standard and stripe carry a list of signatures. Any valid entry passes, and entries
// of unknown versions (v2,…, v0=…) are skipped; signing with several secrets writes one entry per
// secret. github, shopify and slack carry one signature, made with the first secret, and verify
// against any of the secrets.
//
// Strict reading: each header is sent once, as printable ASCII, at most 8 KiB. Timestamps are
// decimal unix seconds, with no sign, no leading zero and at most 12 digits. A whsec_ secret that
// is not padded standard base64, or that decodes to fewer than 24 or more than 64 bytes, is an
// ErrBadSecret error. Messages never show the secret. A stripe secret is used as is (a whsec_
// value is not decoded).
//
// Delivery id: the id header where the scheme has one; for stripe and slack, which have none, the
// body's top-level "id".
//
// Use: New(name, secret, opts...) returns a Scheme with Sign(Message) and Verify(http.Header,
// body); the options are WithClock, WithTolerance and WithRotatedSecrets. Branch on the sentinel
// errors with errors.Is: ErrInvalidSignature, ErrTimestampTooOld, ErrTimestampTooNew,
// ErrMissingHeader, ErrMalformedHeader, ErrBadSecret. Standard Webhooks' own test vector
// (secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, id msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp
// 1614265330, body {"test": 2432232314}) verifies with the clock at its time; testdata/vectors.json
// holds every scheme's known answers.
package signature
