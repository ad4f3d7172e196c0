package ota

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"

	"github.com/nats-io/nkeys"
)

// Bundle layout (all integers big-endian):
//
//	magic     8 bytes  "LBOTA01\n"
//	mlen      4 bytes  length of the manifest JSON (at most MaxManifestSize)
//	signer   56 bytes  public nkey of the signing operator key (zero: unsigned)
//	signature 64 bytes ed25519 over magic|mlen|signer|manifest
//	manifest  mlen bytes of JSON (Manifest)
//	images    each image's StoredSize bytes, in manifest order
//
// The signature sits in a fixed slot so that `leafbox ota sign` can sign a
// packed bundle in place, on a machine that holds the key, without copying it.
const (
	magic           = "LBOTA01\n"
	keyLen          = 56
	sigLen          = 64
	headerLen       = len(magic) + 4 + keyLen + sigLen
	offSigner       = len(magic) + 4
	MaxManifestSize = 64 << 10
)

// Header is the verified start of a bundle.
type Header struct {
	Manifest *Manifest
	// Signer is the public key that signed it, one of the trusted keys.
	Signer string
	// Size is the whole bundle's size in bytes.
	Size int64
}

// rawHeader is a header as read, before any verification.
type rawHeader struct {
	signed   []byte // magic|mlen|signer|manifest
	signer   string
	sig      []byte
	manifest []byte
}

// readRawHeader reads the fixed header and the manifest bytes.
func readRawHeader(r io.Reader) (*rawHeader, error) {
	var fixed [headerLen]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			if bytes.HasPrefix(fixed[:], []byte(magic)) {
				return nil, fmt.Errorf("%w: header", ErrTruncated)
			}
			return nil, ErrNotBundle
		}
		return nil, fmt.Errorf("ota: read header: %w", err)
	}
	if string(fixed[:len(magic)]) != magic {
		return nil, ErrNotBundle
	}
	mlen := binary.BigEndian.Uint32(fixed[len(magic):])
	if mlen == 0 || mlen > MaxManifestSize {
		return nil, fmt.Errorf("%w: manifest length %d", ErrBadManifest, mlen)
	}
	h := &rawHeader{signed: make([]byte, 0, offSigner+keyLen+int(mlen))}
	h.signed = append(h.signed, fixed[:offSigner+keyLen]...)
	h.sig = slices.Clone(fixed[offSigner+keyLen:])
	h.manifest = make([]byte, mlen)
	if _, err := io.ReadFull(r, h.manifest); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: manifest", ErrTruncated)
		}
		return nil, fmt.Errorf("ota: read manifest: %w", err)
	}
	h.signed = append(h.signed, h.manifest...)
	signer := fixed[offSigner : offSigner+keyLen]
	if !allZero(signer) {
		h.signer = string(signer)
	}
	return h, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// verify checks the signature against the trusted keys, then parses the
// manifest. Nothing of the manifest is believed before the signature holds.
func (h *rawHeader) verify(trusted []string) (*Header, error) {
	if h.signer == "" {
		return nil, ErrUnsigned
	}
	if !slices.Contains(trusted, h.signer) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKey, h.signer)
	}
	kp, err := nkeys.FromPublicKey(h.signer)
	if err != nil {
		return nil, fmt.Errorf("%w: signer %q: %v", ErrUnknownKey, h.signer, err)
	}
	if err := kp.Verify(h.signed, h.sig); err != nil {
		return nil, ErrBadSignature
	}
	m, err := parseManifest(h.manifest)
	if err != nil {
		return nil, err
	}
	return &Header{Manifest: m, Signer: h.signer, Size: int64(headerLen+len(h.manifest)) + m.storedTotal()}, nil
}

// ReadHeader reads and verifies a bundle's header from r: the signature must
// be made by one of the trusted public keys. r is left at the first image.
func ReadHeader(r io.Reader, trusted []string) (*Header, error) {
	h, err := readRawHeader(r)
	if err != nil {
		return nil, err
	}
	return h.verify(trusted)
}

// ReadUnverified reads a header without checking its signature, for tools
// that show a bundle before it is signed. Never install from it.
func ReadUnverified(r io.Reader) (m *Manifest, signer string, err error) {
	h, err := readRawHeader(r)
	if err != nil {
		return nil, "", err
	}
	m, err = parseManifest(h.manifest)
	return m, h.signer, err
}

// ImageFunc consumes one image's content. It may stop early (by returning
// an error); the remaining bytes are then not checked.
type ImageFunc func(im Image, content io.Reader) error

// EachImage calls fn with each image of the bundle, in order, from r
// positioned after the header. content yields the image as it will be
// written (decompressed); after fn returns, the rest of the image is read
// and its size and SHA-256 are checked against the manifest. Data after the
// last image is an error.
func EachImage(r io.Reader, m *Manifest, fn ImageFunc) error {
	buf := make([]byte, 64<<10)
	for _, im := range m.Images {
		stored := &countReader{r: io.LimitReader(r, im.StoredSize)}
		var src io.Reader = stored
		var closeDec func()
		if im.Compression == CompressionZstd {
			dec, err := newZstdReader(stored)
			if err != nil {
				return fmt.Errorf("image %s: %w", im.Name, err)
			}
			src, closeDec = dec, dec.close
		}
		cr := &checkReader{r: src, h: sha256.New(), limit: im.Size}
		err := fn(im, cr)
		if err == nil {
			err = cr.drain(buf)
		}
		if closeDec != nil {
			closeDec()
		}
		if err != nil {
			return fmt.Errorf("image %s: %w", im.Name, err)
		}
		if stored.n < im.StoredSize {
			// The stored section holds more than the image decoded from it, or
			// the bundle ended early.
			rest, err := io.CopyBuffer(io.Discard, stored, buf)
			if err != nil {
				return fmt.Errorf("image %s: %w", im.Name, err)
			}
			if stored.n < im.StoredSize {
				return fmt.Errorf("image %s: %w", im.Name, ErrTruncated)
			}
			if rest > 0 {
				return fmt.Errorf("image %s: %w: %d stray bytes in the compressed data", im.Name, ErrImageSize, rest)
			}
		}
		if err := cr.check(im); err != nil {
			return fmt.Errorf("image %s: %w", im.Name, err)
		}
	}
	var one [1]byte
	if n, _ := io.ReadFull(r, one[:]); n > 0 {
		return ErrTrailingData
	}
	return nil
}

// Verify reads a whole bundle, checking the signature, every image's size
// and hash, and that nothing follows the last image.
func Verify(r io.Reader, trusted []string) (*Header, error) {
	h, err := ReadHeader(r, trusted)
	if err != nil {
		return nil, err
	}
	if err := EachImage(r, h.Manifest, func(Image, io.Reader) error { return nil }); err != nil {
		return nil, err
	}
	return h, nil
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// checkReader hashes an image as it is read and refuses to yield more than
// the manifest's size. A short image is reported as truncated.
type checkReader struct {
	r     io.Reader
	h     hash.Hash
	n     int64
	limit int64
	err   error
}

func (c *checkReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.n >= c.limit {
		// Peek whether more data follows: a longer image is altered.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.err = fmt.Errorf("%w: longer than %d bytes", ErrImageSize, c.limit)
			return 0, c.err
		}
		if err == nil {
			return 0, nil
		}
		if err != io.EOF {
			c.err = err
			return 0, err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.limit-c.n {
		p = p[:c.limit-c.n]
	}
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err == io.EOF && c.n < c.limit {
		c.err = ErrTruncated
		return n, c.err
	}
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: %v", ErrTruncated, err)
		}
		c.err = err
	}
	return n, err
}

// drain reads what the consumer left, so the hash covers the whole image.
func (c *checkReader) drain(buf []byte) error {
	_, err := io.CopyBuffer(io.Discard, c, buf)
	return err
}

// check compares the size and hash with the manifest.
func (c *checkReader) check(im Image) error {
	if c.n != im.Size {
		return fmt.Errorf("%w: got %d bytes, want %d", ErrTruncated, c.n, im.Size)
	}
	if got := hex.EncodeToString(c.h.Sum(nil)); got != im.SHA256 {
		return fmt.Errorf("%w: sha256 %s, want %s", ErrImageHash, got, im.SHA256)
	}
	return nil
}
