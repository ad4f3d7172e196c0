package auth

import (
	"crypto/subtle"

	"golang.org/x/crypto/bcrypt"
)

// ComparePassword reports whether given matches configured, with the
// broker's rule for passwords: configured is a plain text secret (compared
// in constant time) or a bcrypt hash. The monitor's http_auth uses it.
func ComparePassword(configured, given string) bool {
	return comparePassword(configured, given)
}

// comparePassword reports whether given matches configured, a plain text
// secret (compared in constant time) or a bcrypt hash. Tokens use it too.
func comparePassword(configured, given string) bool {
	if isBcrypt(configured) {
		return bcrypt.CompareHashAndPassword([]byte(configured), []byte(given)) == nil
	}
	return subtle.ConstantTimeCompare([]byte(configured), []byte(given)) == 1
}

// isBcrypt reports whether s looks like a bcrypt hash: "$2a$", "$2b$",
// "$2x$" or "$2y$" followed by a two digit cost and "$", the prefix
// nats-server recognises.
func isBcrypt(s string) bool {
	if len(s) < 7 || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$' {
		return false
	}
	switch s[2] {
	case 'a', 'b', 'x', 'y':
	default:
		return false
	}
	return isDigit(s[4]) && isDigit(s[5])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
