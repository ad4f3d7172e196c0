package auth

import (
	"crypto/rand"
	"encoding/base64"
)

// nonceRawLen is the number of random bytes in a nonce, as nats-server uses.
const nonceRawLen = 11

// NewNonce returns a fresh nonce for INFO: 11 random bytes, base64 RawURL
// encoded (15 characters). Clients sign the nonce's text, so pass
// []byte(nonce) to Authenticate.
func NewNonce() string {
	var raw [nonceRawLen]byte
	_, _ = rand.Read(raw[:]) // never fails since Go 1.24; it crashes instead
	return base64.RawURLEncoding.EncodeToString(raw[:])
}
