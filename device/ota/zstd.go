//go:build !leafbox_omit_zstd

package ota

import (
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// zstdReader decompresses one image. Corrupt compressed data is reported
// as an altered image, a stream that ends early as a truncated one.
type zstdReader struct {
	d *zstd.Decoder
}

// maxZstdWindow bounds the decoder's memory on a small gateway; pack uses
// a window well below it.
const maxZstdWindow = 8 << 20

func newZstdReader(r io.Reader) (*zstdReader, error) {
	d, err := zstd.NewReader(r,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(maxZstdWindow),
		zstd.WithDecoderMaxMemory(maxImageSize))
	if err != nil {
		return nil, fmt.Errorf("ota: zstd: %w", err)
	}
	return &zstdReader{d: d}, nil
}

func (z *zstdReader) Read(p []byte) (int, error) {
	n, err := z.d.Read(p)
	if err == nil || err == io.EOF {
		return n, err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return n, fmt.Errorf("%w: compressed data ends early", ErrTruncated)
	}
	return n, fmt.Errorf("%w: compressed data: %v", ErrImageHash, err)
}

func (z *zstdReader) close() { z.d.Close() }

// zstdCompress copies src to dst compressed.
func zstdCompress(dst io.Writer, src io.Reader) error {
	e, err := zstd.NewWriter(dst,
		zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithWindowSize(4<<20),
		zstd.WithEncoderConcurrency(1))
	if err != nil {
		return fmt.Errorf("ota: zstd: %w", err)
	}
	if _, err := io.Copy(e, src); err != nil {
		e.Close()
		return fmt.Errorf("ota: compress: %w", err)
	}
	if err := e.Close(); err != nil {
		return fmt.Errorf("ota: compress: %w", err)
	}
	return nil
}
