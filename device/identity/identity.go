// Package identity keeps the device's own key: an nkey created once on the
// data partition, whose public key is the device id.
//
// The seed lives in DIR/device.nk with mode 0600. It is created on first use
// and never replaced: Load refuses to regenerate a seed that exists but cannot
// be read, and refuses a seed file that others may read.
//
// The key is a user nkey ("U..."), so the hub can list the device as a user
// of its leafnode account. A leafnode remote with `nkey: device` uses this
// key: cmd/leafbox hands the remote KeyPair().Seed() when it builds the
// uplink, so the link signs the hub's nonce with it and sends the id.
package identity

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nkeys"
)

// FileName is the seed file inside the identity directory.
const FileName = "device.nk"

// Sentinel errors.
var (
	ErrNoDir        = errors.New("identity: no directory configured")
	ErrInsecureMode = errors.New("identity: seed file is readable by others")
	ErrBadSeed      = errors.New("identity: seed file does not hold a user nkey seed")
)

// Config says where the identity lives.
type Config struct {
	// Dir is the directory of the seed file, on the data partition.
	Dir string
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Dir == "" {
		return ErrNoDir
	}
	return nil
}

// Identity is the device's key pair.
type Identity struct {
	kp  nkeys.KeyPair
	pub string
}

// Load reads the identity in dir, creating dir and a new key on first use.
func Load(dir string) (*Identity, error) {
	if dir == "" {
		return nil, ErrNoDir
	}
	path := filepath.Join(dir, FileName)
	id, err := read(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	if err := create(dir, path); err != nil {
		return nil, err
	}
	return read(path)
}

// read loads an existing seed file.
func read(path string) (*Identity, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %o, want 0600", ErrInsecureMode, path, fi.Mode().Perm())
	}
	seed, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity: read seed: %w", err)
	}
	kp, err := nkeys.FromSeed(trimSpace(seed))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadSeed, path, err)
	}
	pub, err := kp.PublicKey()
	if err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return nil, fmt.Errorf("%w: %s", ErrBadSeed, path)
	}
	return &Identity{kp: kp, pub: pub}, nil
}

// create writes a fresh seed without ever replacing an existing file: the
// seed is written to a temporary file, synced, then hard-linked into place,
// which fails if another process created the file first.
func create(dir, path string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("identity: create dir: %w", err)
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return fmt.Errorf("identity: create key: %w", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return fmt.Errorf("identity: create key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".device-*.nk")
	if err != nil {
		return fmt.Errorf("identity: write seed: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(seed, '\n'))
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("identity: write seed: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("identity: install seed: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("identity: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("identity: sync dir: %w", err)
	}
	return nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// ID is the device id: the public user nkey ("U...").
func (id *Identity) ID() string { return id.pub }

// Sign signs data with the device key (ed25519, 64 bytes).
func (id *Identity) Sign(data []byte) ([]byte, error) {
	sig, err := id.kp.Sign(data)
	if err != nil {
		return nil, fmt.Errorf("identity: sign: %w", err)
	}
	return sig, nil
}

// Verify checks a signature made by Sign.
func (id *Identity) Verify(data, sig []byte) error {
	if err := id.kp.Verify(data, sig); err != nil {
		return fmt.Errorf("identity: verify: %w", err)
	}
	return nil
}

// KeyPair is the device key, for the leafnode remote's `nkey: device`
// (sign the hub's nonce, send the public key). Callers must not Wipe it.
func (id *Identity) KeyPair() nkeys.KeyPair { return id.kp }
