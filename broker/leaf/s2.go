//go:build !leafbox_omit_s2

package leaf

import (
	"io"

	"github.com/klauspost/compress/s2"
)

// The S2 compression of the leafnode link. A build with the tag
// leafbox_omit_s2 leaves it out (s2_omit.go) and runs every link
// uncompressed.

// s2Encoder is the S2 writer of a compressed link.
type s2Encoder = s2.Writer

// s2Mode is the compression mode a remote asks for; this build has S2, so
// it is the configured one.
func s2Mode(configured string) string { return configured }

// newS2Writer frames writes to w at the level of mode.
func newS2Writer(w io.Writer, mode string) *s2Encoder {
	return s2.NewWriter(w, s2Options(mode)...)
}

// newS2Reader reads the S2 stream of r.
func newS2Reader(r io.Reader) io.Reader { return s2.NewReader(r) }

// s2Options are the writer options of a concrete s2 level.
func s2Options(mode string) []s2.WriterOption {
	opts := []s2.WriterOption{s2.WriterConcurrency(1)}
	switch mode {
	case CompressionS2Uncompressed:
		opts = append(opts, s2.WriterUncompressed())
	case CompressionS2Better:
		opts = append(opts, s2.WriterBetterCompression())
	case CompressionS2Best:
		opts = append(opts, s2.WriterBestCompression())
	}
	return opts
}
