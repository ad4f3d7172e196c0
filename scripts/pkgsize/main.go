// Command pkgsize reports which packages take the space in a Go ELF binary that
// still has its symbol table (built with -ldflags=-w, not -s).
//
//	pkgsize [-top 25] BINARY
//
// It sums the sizes of the symbols stored in the file (bss is left out: it takes
// memory at run time, not space on disk), grouped by the import path in each symbol
// name, and prints the largest groups as a Markdown table. Linker-made symbols that
// belong to no package are grouped by kind, e.g. "(go: linker data)".
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pkgsize:", err)
		os.Exit(1)
	}
}

// run parses the command line, measures the binary and writes the table to out.
func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("pkgsize", flag.ContinueOnError)
	top := fs.Int("top", 25, "number of packages to list")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errUsage
	}
	sizes, err := packageSizes(fs.Arg(0))
	if err != nil {
		return err
	}
	return writeTable(out, sizes, *top)
}
