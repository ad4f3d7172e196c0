package monitor

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"sync"
	"sync/atomic"
)

// basicRealm is the realm of the WWW-Authenticate challenge.
const basicRealm = `Basic realm="leafbox", charset="UTF-8"`

// basicChecker checks the Authorization header of monitoring requests
// against a BasicAuth. The configured password may be a bcrypt hash, which
// is slow to check (tens of milliseconds on a Raspberry Pi): the status
// page polls every few seconds, and a client on the LAN could send wrong
// passwords as fast as it likes. So the slow check runs one at a time,
// and credentials that passed once are remembered as their SHA-256, so a
// polling browser costs a hash and a constant-time compare per request.
type basicChecker struct {
	user, password string
	verify         func(configured, given string) bool

	slow sync.Mutex // one Verify at a time
	// good is the SHA-256 of the last "user:password" that passed.
	good atomic.Pointer[[sha256.Size]byte]
}

func newBasicChecker(a BasicAuth) *basicChecker {
	if !a.Enabled() {
		return nil
	}
	return &basicChecker{user: a.User, password: a.Password, verify: a.Verify}
}

// authResult is what the checker made of a request's credentials.
type authResult int

const (
	authOK authResult = iota
	authNone
	authBad
)

// allow reports whether header, the value of a request's Authorization
// header ("" when absent), carries the configured credentials, and the
// user it named. Users and passwords are compared in constant time.
func (c *basicChecker) allow(header string) (authResult, string) {
	if header == "" {
		return authNone, ""
	}
	scheme, enc, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return authBad, ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return authBad, ""
	}
	sum := sha256.Sum256(raw)
	if g := c.good.Load(); g != nil && subtle.ConstantTimeCompare(g[:], sum[:]) == 1 {
		return authOK, c.user
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return authBad, ""
	}
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(c.user)) == 1
	c.slow.Lock()
	passOK := c.checkPassword(pass)
	c.slow.Unlock()
	if userOK && passOK {
		c.good.Store(&sum)
		return authOK, user
	}
	return authBad, user
}

func (c *basicChecker) checkPassword(given string) bool {
	if c.verify != nil {
		return c.verify(c.password, given)
	}
	return subtle.ConstantTimeCompare([]byte(given), []byte(c.password)) == 1
}
