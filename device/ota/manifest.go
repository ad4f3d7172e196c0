package ota

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
)

// Image names a bundle may carry.
const (
	ImageRootfs = "rootfs"
	ImageBoot   = "boot"
)

// Compression of an image inside a bundle.
const (
	CompressionNone = ""
	CompressionZstd = "zstd"
)

// FormatVersion is the manifest format this package writes and reads.
const FormatVersion = 1

// Manifest describes a bundle. It is signed; every field is covered.
type Manifest struct {
	Format int `json:"format"`
	// Version is the software version the images carry.
	Version string `json:"version"`
	// Board is the compatible string the device's configured board must equal.
	Board string `json:"board"`
	// MinVersion, when set, is the lowest running version that may install
	// this bundle (an update that needs a stepping stone).
	MinVersion string  `json:"min_version,omitempty"`
	Images     []Image `json:"images"`
}

// Image is one image of a bundle, stored after the manifest in this order.
type Image struct {
	Name string `json:"name"`
	// Size and SHA256 (hex) describe the image as written to the slot.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Compression is "" or "zstd"; StoredSize is the bytes in the bundle.
	Compression string `json:"compression,omitempty"`
	StoredSize  int64  `json:"stored_size"`
}

// maxImageSize bounds one image (a sanity limit against absurd manifests).
const maxImageSize = 1 << 40

// validate checks the manifest's own consistency.
func (m *Manifest) validate() error {
	if m.Format != FormatVersion {
		return fmt.Errorf("%w: format %d, want %d", ErrBadManifest, m.Format, FormatVersion)
	}
	if m.Version == "" || m.Board == "" {
		return fmt.Errorf("%w: version and board are required", ErrBadManifest)
	}
	if len(m.Images) == 0 {
		return fmt.Errorf("%w: no images", ErrBadManifest)
	}
	var seen []string
	for _, im := range m.Images {
		if im.Name != ImageRootfs && im.Name != ImageBoot {
			return fmt.Errorf("%w: unknown image %q", ErrBadManifest, im.Name)
		}
		if slices.Contains(seen, im.Name) {
			return fmt.Errorf("%w: image %q twice", ErrBadManifest, im.Name)
		}
		seen = append(seen, im.Name)
		if im.Size < 0 || im.Size > maxImageSize || im.StoredSize < 0 || im.StoredSize > maxImageSize {
			return fmt.Errorf("%w: image %q: bad size", ErrBadManifest, im.Name)
		}
		if im.Compression == CompressionNone && im.StoredSize != im.Size {
			return fmt.Errorf("%w: image %q: stored size differs from size", ErrBadManifest, im.Name)
		}
		if im.Compression != CompressionNone && im.Compression != CompressionZstd {
			return fmt.Errorf("%w: image %q: unknown compression %q", ErrBadManifest, im.Name, im.Compression)
		}
		if b, err := hex.DecodeString(im.SHA256); err != nil || len(b) != 32 {
			return fmt.Errorf("%w: image %q: bad sha256", ErrBadManifest, im.Name)
		}
	}
	return nil
}

// parseManifest decodes and validates manifest JSON. Unknown fields are
// refused: a signed field this reader would ignore must not exist.
func parseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := jsonStrict(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Image returns the named image, if present.
func (m *Manifest) Image(name string) (Image, bool) {
	for _, im := range m.Images {
		if im.Name == name {
			return im, true
		}
	}
	return Image{}, false
}

// storedTotal is the size of the image section.
func (m *Manifest) storedTotal() int64 {
	var n int64
	for _, im := range m.Images {
		n += im.StoredSize
	}
	return n
}

func marshalManifest(m *Manifest) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("ota: encode manifest: %w", err)
	}
	return b, nil
}
