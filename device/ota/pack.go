package ota

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/nats-io/nkeys"
)

// PackImage is one image file to put into a bundle.
type PackImage struct {
	Name string // ImageRootfs or ImageBoot
	Path string
}

// PackOptions describe a bundle to build.
type PackOptions struct {
	Version    string
	Board      string
	MinVersion string
	Images     []PackImage
	// Compress stores the images zstd-compressed.
	Compress bool
	// TempDir holds compressed images while the bundle is built ("" : the
	// system's temporary directory).
	TempDir string
	// Signer, when set, signs the bundle; otherwise it is written unsigned
	// for a later Sign on the machine that holds the key.
	Signer nkeys.KeyPair
}

// Pack writes a bundle to w.
func Pack(w io.Writer, opts PackOptions) (*Manifest, error) {
	m := &Manifest{Format: FormatVersion, Version: opts.Version, Board: opts.Board, MinVersion: opts.MinVersion}
	var stored []string // file holding each image as stored
	defer func() {
		for i, p := range stored {
			if p != opts.Images[i].Path {
				os.Remove(p)
			}
		}
	}()
	for _, pi := range opts.Images {
		im, path, err := prepareImage(pi, opts)
		if err != nil {
			return nil, err
		}
		stored = append(stored, path)
		m.Images = append(m.Images, im)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	mb, err := marshalManifest(m)
	if err != nil {
		return nil, err
	}
	if len(mb) > MaxManifestSize {
		return nil, fmt.Errorf("%w: manifest too large", ErrBadManifest)
	}
	hdr := make([]byte, headerLen, headerLen+len(mb))
	copy(hdr, magic)
	binary.BigEndian.PutUint32(hdr[len(magic):], uint32(len(mb)))
	hdr = append(hdr, mb...)
	if opts.Signer != nil {
		if err := signHeader(hdr, opts.Signer); err != nil {
			return nil, err
		}
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, fmt.Errorf("ota: write bundle: %w", err)
	}
	for _, p := range stored {
		if err := copyFile(w, p); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// prepareImage hashes an image and, when compressing, stores it compressed
// in a temporary file. It returns the manifest entry and the file to copy.
func prepareImage(pi PackImage, opts PackOptions) (Image, string, error) {
	f, err := os.Open(pi.Path)
	if err != nil {
		return Image{}, "", fmt.Errorf("ota: image %s: %w", pi.Name, err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return Image{}, "", fmt.Errorf("ota: image %s: %w", pi.Name, err)
	}
	im := Image{Name: pi.Name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil)), StoredSize: size}
	if !opts.Compress {
		return im, pi.Path, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Image{}, "", fmt.Errorf("ota: image %s: %w", pi.Name, err)
	}
	tmp, err := os.CreateTemp(opts.TempDir, "lbota-*.zst")
	if err != nil {
		return Image{}, "", fmt.Errorf("ota: image %s: %w", pi.Name, err)
	}
	defer tmp.Close()
	err = zstdCompress(tmp, f)
	var st os.FileInfo
	if err == nil {
		st, err = tmp.Stat()
	}
	if err != nil {
		os.Remove(tmp.Name())
		return Image{}, "", fmt.Errorf("ota: image %s: %w", pi.Name, err)
	}
	im.Compression, im.StoredSize = CompressionZstd, st.Size()
	return im, tmp.Name(), nil
}

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("ota: write bundle: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("ota: write bundle: %w", err)
	}
	return nil
}

// signHeader fills the signer and signature fields of hdr (the fixed
// header followed by the manifest).
func signHeader(hdr []byte, kp nkeys.KeyPair) error {
	pub, err := kp.PublicKey()
	if err != nil {
		return fmt.Errorf("ota: sign: %w", err)
	}
	if len(pub) != keyLen {
		return fmt.Errorf("ota: sign: public key %q has %d characters, want %d", pub, len(pub), keyLen)
	}
	copy(hdr[offSigner:], pub)
	signed := make([]byte, 0, len(hdr)-sigLen)
	signed = append(signed, hdr[:offSigner+keyLen]...)
	signed = append(signed, hdr[headerLen:]...)
	sig, err := kp.Sign(signed)
	if err != nil {
		return fmt.Errorf("ota: sign: %w", err)
	}
	copy(hdr[offSigner+keyLen:], sig)
	return nil
}

// Sign signs (or re-signs) the bundle in f in place: only the signer and
// signature fields change.
func Sign(f interface {
	io.ReaderAt
	io.WriterAt
}, kp nkeys.KeyPair) (*Manifest, error) {
	h, err := readRawHeader(io.NewSectionReader(f, 0, int64(headerLen+MaxManifestSize)))
	if err != nil {
		return nil, err
	}
	m, err := parseManifest(h.manifest)
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, headerLen, headerLen+len(h.manifest))
	copy(hdr, h.signed[:offSigner])
	hdr = append(hdr, h.manifest...)
	if err := signHeader(hdr, kp); err != nil {
		return nil, err
	}
	if _, err := f.WriteAt(hdr[offSigner:headerLen], int64(offSigner)); err != nil {
		return nil, fmt.Errorf("ota: sign: %w", err)
	}
	return m, nil
}
