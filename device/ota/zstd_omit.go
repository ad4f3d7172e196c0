//go:build leafbox_omit_zstd

package ota

import (
	"fmt"
	"io"

	"github.com/leafbox/leafbox/internal/feature"
)

// zstdReader stands in for the zstd decoder in a build with the tag
// leafbox_omit_zstd: a bundle with a zstd-compressed image is refused with
// a clear error; uncompressed images install as usual.
type zstdReader struct{}

func newZstdReader(io.Reader) (*zstdReader, error) {
	return nil, fmt.Errorf("ota: zstd: %w", feature.Zstd.Err())
}

func (*zstdReader) Read([]byte) (int, error) { return 0, feature.Zstd.Err() }

func (*zstdReader) close() {}

// zstdCompress fails: this build cannot compress images.
func zstdCompress(io.Writer, io.Reader) error {
	return fmt.Errorf("ota: zstd: %w", feature.Zstd.Err())
}
