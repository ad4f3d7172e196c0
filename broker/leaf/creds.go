package leaf

import (
	"encoding/base64"
	"fmt"
	"os"

	"github.com/nats-io/nkeys"
)

// fillCredentials adds the remote's credentials to c, signing the hub's
// nonce, with nats-server's precedence: a .creds file (JWT + seed), else
// an nkey seed; user/password or token (from the URL or the remote) are
// sent in addition. The files are read on every connect so a rotated
// .creds file is picked up.
func fillCredentials(c *connectInfo, r *Remote, urlUser, urlPass string, hasURLUser bool, nonce string) error {
	switch {
	case r.Credentials != "":
		data, err := os.ReadFile(r.Credentials)
		if err != nil {
			return fmt.Errorf("%w: read %s: %w", ErrBadCredential, r.Credentials, err)
		}
		jwt, err := nkeys.ParseDecoratedJWT(data)
		if err != nil {
			return fmt.Errorf("%w: %s: user JWT: %w", ErrBadCredential, r.Credentials, err)
		}
		kp, err := nkeys.ParseDecoratedNKey(data)
		if err != nil {
			return fmt.Errorf("%w: %s: seed: %w", ErrBadCredential, r.Credentials, err)
		}
		defer kp.Wipe()
		sig, err := kp.Sign([]byte(nonce))
		if err != nil {
			return fmt.Errorf("%w: sign nonce: %w", ErrBadCredential, err)
		}
		c.JWT = jwt
		c.Sig = base64.RawURLEncoding.EncodeToString(sig)
	case r.Nkey != "":
		kp, err := nkeys.FromSeed([]byte(r.Nkey))
		if err != nil {
			return fmt.Errorf("%w: nkey seed: %w", ErrBadCredential, err)
		}
		defer kp.Wipe()
		pub, err := kp.PublicKey()
		if err != nil {
			return fmt.Errorf("%w: nkey: %w", ErrBadCredential, err)
		}
		sig, err := kp.Sign([]byte(nonce))
		if err != nil {
			return fmt.Errorf("%w: sign nonce: %w", ErrBadCredential, err)
		}
		c.Nkey = pub
		c.Sig = base64.RawURLEncoding.EncodeToString(sig)
	}
	user, pass := r.User, r.Password
	if hasURLUser {
		user, pass = urlUser, urlPass
	}
	switch {
	case user != "" && pass != "":
		c.User, c.Pass = user, pass
	case user != "":
		// A lone user name is a token, as nats-server sends it.
		c.User, c.Token = user, user
	}
	if r.Token != "" {
		c.Token = r.Token
	}
	return nil
}
