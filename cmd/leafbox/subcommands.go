package main

import (
	"context"
	"io"
)

// runSubcommand runs an operator subcommand (`leafbox id`, `leafbox ota
// ...`) when args start with one, and reports whether it did.
// Placeholder until the device services issue adds them.
func runSubcommand(ctx context.Context, args []string, stdout, stderr io.Writer) (code int, handled bool) {
	return 0, false
}
