package ota

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Source yields a bundle. Each Open starts from the beginning.
type Source interface {
	Open(ctx context.Context) (io.ReadCloser, error)
}

// FileSource reads a bundle from a local file.
type FileSource string

// Open implements Source.
func (f FileSource) Open(context.Context) (io.ReadCloser, error) {
	r, err := os.Open(string(f))
	if err != nil {
		return nil, fmt.Errorf("ota: open bundle: %w", err)
	}
	return r, nil
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) (io.ReadCloser, error)

// Open calls f.
func (f SourceFunc) Open(ctx context.Context) (io.ReadCloser, error) { return f(ctx) }
