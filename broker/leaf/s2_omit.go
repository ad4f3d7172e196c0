//go:build leafbox_omit_s2

package leaf

import (
	"io"

	"github.com/leafbox/leafbox/internal/feature"
)

// A build with the tag leafbox_omit_s2 has no S2 compression: every link
// is uncompressed, and a config asking for an s2 mode fails at -t.

// s2Encoder is never made: s2Mode turns compression off.
type s2Encoder struct{}

func (*s2Encoder) Write([]byte) (int, error) { return 0, feature.S2.Err() }

func (*s2Encoder) Flush() error { return feature.S2.Err() }

// s2Mode turns compression off whatever the config says.
func s2Mode(string) string { return CompressionOff }

func newS2Writer(io.Writer, string) *s2Encoder { return &s2Encoder{} }

func newS2Reader(r io.Reader) io.Reader { return r }
