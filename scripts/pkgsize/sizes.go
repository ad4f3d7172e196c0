package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

var (
	// errUsage reports a command line without exactly one binary.
	errUsage = errors.New("pkgsize: usage: pkgsize [-top N] BINARY")
	// errNoSymbols reports a stripped binary.
	errNoSymbols = errors.New("pkgsize: binary has no symbol table (built with -s?)")
)

// pkgSize is the number of file bytes attributed to one package.
type pkgSize struct {
	Pkg   string
	Bytes uint64
}

// packageSizes sums the sizes of the symbols stored in the ELF file at path, per package,
// largest first.
func packageSizes(path string) ([]pkgSize, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if errors.Is(err, elf.ErrNoSymbols) {
		return nil, fmt.Errorf("%s: %w", path, errNoSymbols)
	}
	if err != nil {
		return nil, fmt.Errorf("read symbols of %s: %w", path, err)
	}
	byPkg := map[string]uint64{}
	for _, s := range syms {
		if s.Size == 0 || s.Section == elf.SHN_UNDEF || int(s.Section) >= len(f.Sections) {
			continue
		}
		if f.Sections[s.Section].Type == elf.SHT_NOBITS { // .bss, .noptrbss
			continue
		}
		byPkg[pkgOf(s.Name)] += s.Size
	}
	sizes := make([]pkgSize, 0, len(byPkg))
	for p, n := range byPkg {
		sizes = append(sizes, pkgSize{p, n})
	}
	sort.Slice(sizes, func(i, j int) bool {
		if sizes[i].Bytes != sizes[j].Bytes {
			return sizes[i].Bytes > sizes[j].Bytes
		}
		return sizes[i].Pkg < sizes[j].Pkg
	})
	return sizes, nil
}

// pkgOf returns the import path a symbol belongs to, or a parenthesised kind for
// linker-made symbols: "net/http.(*Client).Do" → "net/http".
func pkgOf(name string) string {
	switch {
	case strings.HasPrefix(name, "type:"):
		return "(type descriptors)"
	case strings.HasPrefix(name, "go:"):
		return "(go: linker data)"
	case name == "" || !isIdentStart(name[0]):
		return "(other)"
	}
	// Generic instantiations name their shapes in brackets, which hold / and . too.
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	dir, last := "", name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		dir, last = name[:i+1], name[i+1:]
	}
	if i := strings.IndexByte(last, '.'); i >= 0 {
		last = last[:i]
	}
	return dir + last
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// writeTable prints the top entries of sizes as a Markdown table with a total line.
func writeTable(w io.Writer, sizes []pkgSize, top int) error {
	var total uint64
	for _, s := range sizes {
		total += s.Bytes
	}
	var b strings.Builder
	b.WriteString("| # | package | KiB | share |\n|---:|---|---:|---:|\n")
	for i, s := range sizes {
		if i == top {
			break
		}
		fmt.Fprintf(&b, "| %d | %s | %.1f | %.1f%% |\n", i+1, s.Pkg, float64(s.Bytes)/1024, 100*float64(s.Bytes)/float64(max(total, 1)))
	}
	fmt.Fprintf(&b, "\n%d packages, %.1f KiB of symbols in the file.\n", len(sizes), float64(total)/1024)
	_, err := io.WriteString(w, b.String())
	return err
}
