package signature

import (
	"crypto/ed25519"
	"encoding/base64"
)

// Test keys. testSeed is 32 fixed bytes; testSecretKey and testPublicKey are its whsk_/whpk_ forms.
var (
	testHMACKey   = []byte("0123456789abcdef0123456789abcdef") // 32 bytes
	testSecretStd = PrefixSecret + base64.StdEncoding.EncodeToString(testHMACKey)
	testSeed      = []byte("hookproof-test-ed25519-seed-32by")
	testSecretKey = PrefixSecretKey + base64.StdEncoding.EncodeToString(testSeed)
	testPublicKey = PrefixPublicKey + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(testSeed).Public().(ed25519.PublicKey))
)

// testSecret returns a valid secret for the named scheme.
func testSecret(name string) string {
	if whsecSchemes[name] {
		return testSecretStd
	}
	return "provider-secret-" + name
}
