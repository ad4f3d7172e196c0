package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxIncludeDepth is how deeply include directives may nest: the file given
// with -c may include a file that includes another, and so on, 10 times.
const MaxIncludeDepth = 10

// maxIncludes bounds how many files one parse reads through include. The conf
// package reads a file again each time it is included, so a few files that
// each include the next one twice would multiply without it.
const maxIncludes = 256

// Sentinel errors of include checks.
var (
	errIncludeCycle = errors.New("include cycle")
	errIncludeDepth = errors.New("includes nested too deeply")
	errIncludeCount = errors.New("too many includes")
)

// checkIncludes follows the include directives of a configuration before the
// conf package parses it. conf follows includes recursively with no limit, so
// a file that includes itself, directly or through others, would grow memory
// until the stack overflows and kills the process: that has to be refused
// before conf sees it. name is the configuration as it appears in errors, dir
// the directory its include paths are relative to (conf joins them onto the
// including file's directory, and onto nothing for in-memory text), self the
// file's identity (nil for in-memory text).
//
// An include that cannot be read is skipped here: conf reports it with its own
// message. The directives are found by scanIncludes, which may report more of
// them than conf follows, never fewer. conf reads the files again after this
// check: a file rewritten into a cycle in between is not caught.
func checkIncludes(name, dir string, data []byte, self fs.FileInfo) error {
	w := &includeWalk{}
	return w.walk(includeFrame{name: name, info: self}, dir, data)
}

type includeFrame struct {
	name string      // as in error messages
	info fs.FileInfo // nil for in-memory text
	env  string      // the environment variable whose value this is
}

// includeWalk is the state of one checkIncludes: the chain of files being
// read, outermost first, and how many includes were followed.
type includeWalk struct {
	stack []includeFrame
	count int
}

func (w *includeWalk) walk(f includeFrame, dir string, data []byte) error {
	w.stack = append(w.stack, f)
	defer func() { w.stack = w.stack[:len(w.stack)-1] }()
	for _, inc := range scanIncludes(data) {
		path := filepath.Join(dir, inc.path)
		at := func(err error) error { return &Error{File: f.name, Line: inc.line, Err: err} }
		info, err := os.Stat(path)
		if err != nil || info.IsDir() {
			continue
		}
		for i, up := range w.stack {
			if up.info != nil && os.SameFile(up.info, info) {
				return at(fmt.Errorf("%w: %s", errIncludeCycle, w.chain(i, path)))
			}
		}
		if len(w.stack) > MaxIncludeDepth {
			return at(fmt.Errorf("%w: %s (more than %d levels)", errIncludeDepth, w.chain(0, path), MaxIncludeDepth))
		}
		if w.count++; w.count > maxIncludes {
			return at(fmt.Errorf("%w: more than %d files read through include", errIncludeCount, maxIncludes))
		}
		// A device or pipe could be read forever.
		if !info.Mode().IsRegular() {
			return at(fmt.Errorf("%w: include %s: not a regular file", ErrBadValue, path))
		}
		sub, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if err := w.walk(includeFrame{name: path, info: info}, filepath.Dir(path), sub); err != nil {
			return err
		}
	}
	// conf parses the value of an environment variable a $NAME refers to as
	// configuration text too, includes and all (relative to the working
	// directory), and forgets the variables it is inside of when it reads an
	// included file: a file can include itself through a variable.
	for _, ref := range scanVariables(data) {
		val, ok := os.LookupEnv(ref.path)
		sub := []byte("pk=" + val)
		// A plain value leads nowhere and does not count.
		if !ok || len(scanIncludes(sub)) == 0 && len(scanVariables(sub)) == 0 {
			continue
		}
		at := func(err error) error { return &Error{File: f.name, Line: ref.line, Err: err} }
		for i, up := range w.stack {
			if up.env == ref.path {
				return at(fmt.Errorf("%w: %s", errIncludeCycle, w.chain(i, "$"+ref.path)))
			}
		}
		if len(w.stack) > MaxIncludeDepth {
			return at(fmt.Errorf("%w: %s (more than %d levels)", errIncludeDepth, w.chain(0, "$"+ref.path), MaxIncludeDepth))
		}
		if w.count++; w.count > maxIncludes {
			return at(fmt.Errorf("%w: more than %d files read through include", errIncludeCount, maxIncludes))
		}
		if err := w.walk(includeFrame{name: "$" + ref.path, env: ref.path}, "", sub); err != nil {
			return err
		}
	}
	return nil
}

// scanVariables finds the $NAME references of configuration text, reading
// every '$' as the start of one, up to where conf ends a bare string.
func scanVariables(data []byte) []includeDirective {
	var found []includeDirective
	line := 1
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\n':
			line++
		case '$':
			j := i + 1
			for j < len(data) && !strings.ContainsRune("\n\r;,]} \t'\x00", rune(data[j])) {
				j++
			}
			if j > i+1 {
				found = append(found, includeDirective{path: string(data[i+1 : j]), line: line})
			}
		}
	}
	return found
}

// chain is "a.conf -> b.conf -> next" from the stack's i-th file on.
func (w *includeWalk) chain(i int, next string) string {
	var b strings.Builder
	for _, f := range w.stack[i:] {
		b.WriteString(f.name)
		b.WriteString(" -> ")
	}
	b.WriteString(next)
	return b.String()
}

// includeDirective is one "include PATH" found in configuration text.
type includeDirective struct {
	path string
	line int
}

// scanIncludes finds the include directives of configuration text as the conf
// lexer reads them: the word include (any case) in key position, followed by
// space and a quoted or bare path. It does not track strings or comments, so
// it treats every place that follows a new line, ';', ',', '{' or '}' as a key
// position: it may report a directive inside a string or after a ';' in a
// comment that conf does not follow, but never misses one conf follows. A
// commented-out "# include x" is not in key position and is not reported.
func scanIncludes(data []byte) []includeDirective {
	var found []includeDirective
	line := 1
	keyPos := true
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == '\n':
			line++
			keyPos = true
		case r == '\r' || r == ';' || r == ',' || r == '{' || r == '}':
			keyPos = true
		case unicode.IsSpace(r):
		case keyPos:
			keyPos = false
			if p, ok := includeAt(data[i:]); ok {
				found = append(found, includeDirective{path: p, line: line})
			}
		}
		i += n
	}
	return found
}

// includeAt reads an include directive at the start of b, if there is one.
func includeAt(b []byte) (string, bool) {
	// The key runs to a space or key separator; conf lower-cases it before
	// comparing it with "include".
	end := 0
	for end < len(b) {
		r, n := utf8.DecodeRune(b[end:])
		if unicode.IsSpace(r) || r == '=' || r == ':' {
			break
		}
		end += n
	}
	if end == len(b) || b[end] == '=' || b[end] == ':' || strings.ToLower(string(b[:end])) != "include" {
		return "", false
	}
	// Only blanks separate the keyword from the path; any other space,
	// a new line included, is read as part of the path.
	v := b[end:]
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	if len(v) == 0 {
		return "", true // conf reads the empty path
	}
	switch c := v[0]; {
	case c == '"' || c == '\'':
		j := strings.IndexByte(string(v[1:]), c)
		if j < 0 {
			return "", false
		}
		return string(v[1 : 1+j]), true
	case c == '[' || c == '{' || c == '(' || c == '-' || c == '\\' || c == '\n' || c == '\r' || (c >= '0' && c <= '9'):
		return "", false
	}
	j := 0
	// The conf lexer takes a NUL byte for the end of input.
	for j < len(v) && !strings.ContainsRune("\n\r;} \t'\x00", rune(v[j])) {
		j++
	}
	return string(v[:j]), true
}
