package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/conf"
)

// boundStack makes a runaway recursion fail fast: without include checks, a
// self-including file recursed until the 1 GB default stack limit killed the
// process.
func boundStack(t *testing.T) {
	old := debug.SetMaxStack(64 << 20)
	t.Cleanup(func() { debug.SetMaxStack(old) })
}

// TestIncludeLoopThroughEnvironment pins that a cycle through the value of an
// environment variable, which conf parses as configuration text, is refused
// too: conf forgets which variables it is inside of across an include.
func TestIncludeLoopThroughEnvironment(t *testing.T) {
	boundStack(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.conf"), "port: 4222\nmax_payload: $LB_TEST_INCLUDE\n")
	t.Setenv("LB_TEST_INCLUDE", "1024\ninclude a.conf")
	t.Chdir(dir)
	_, err := ParseFile("a.conf")
	if want := "$LB_TEST_INCLUDE:2: include cycle: a.conf -> $LB_TEST_INCLUDE -> a.conf"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	t.Setenv("LB_TEST_INCLUDE", "1024")
	if _, err := ParseFile("a.conf"); err != nil {
		t.Errorf("plain variable: %v", err)
	}
	// Plain variables do not count as includes.
	var many strings.Builder
	for i := range maxIncludes + 10 {
		fmt.Fprintf(&many, "v%d: $LB_TEST_INCLUDE\n", i)
	}
	many.WriteString("port: $v0\n")
	if _, err := ParseData("many.conf", []byte(many.String())); errors.Is(err, errIncludeCount) {
		t.Errorf("%d plain variables: %v", maxIncludes+10, err)
	}
}

// TestParseConfigIncludeLoopSentinels pins the error kinds of include checks.
func TestParseConfigIncludeLoopSentinels(t *testing.T) {
	boundStack(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.conf"), "include a.conf\n")
	_, err := ParseFile(filepath.Join(dir, "a.conf"))
	if !errors.Is(err, errIncludeCycle) {
		t.Errorf("file: %v, want %v", err, errIncludeCycle)
	}
	t.Chdir(dir)
	_, err = ParseData("mem.conf", []byte("port: 1\ninclude a.conf\n"))
	if want := "a.conf:1: include cycle: a.conf -> a.conf"; err == nil || err.Error() != want {
		t.Errorf("in-memory text: %v, want %s", err, want)
	}
}

// TestScanIncludes pins which directives the scanner reports: those conf
// follows, never fewer.
func TestScanIncludes(t *testing.T) {
	tests := []struct {
		text string
		want []includeDirective
	}{
		{"include a.conf", []includeDirective{{"a.conf", 1}}},
		{"\n\n  include 'a b.conf'\n", []includeDirective{{"a b.conf", 3}}},
		{"x = 1; Include \"q.conf\"", []includeDirective{{"q.conf", 1}}},
		{"m {include m.conf}", []includeDirective{{"m.conf", 1}}},
		{"m {a: 1, include m.conf; b: 2}", []includeDirective{{"m.conf", 1}}},
		{"include\ta.conf # comment", []includeDirective{{"a.conf", 1}}},
		{"include a.conf;include b.conf", []includeDirective{{"a.conf", 1}, {"b.conf", 1}}},
		{"\u0130nclude a.conf", []includeDirective{{"a.conf", 1}}},
		{"# include a.conf\n// include b.conf\n", nil},
		// conf reads "include = x" as an include of the file "=".
		{"include = a.conf\n", []includeDirective{{"=", 1}}},
		{"include: b.conf\ninclude=c.conf\nincludes d.conf\n", nil},
		{"include\na.conf\n", nil},
		{"include ", []includeDirective{{"", 1}}},
		{"include a\x00b", []includeDirective{{"a", 1}}},
		{"include [a.conf]\ninclude 'open\n", nil},
		{"key: \"include a.conf\"\n", nil},
	}
	for _, tt := range tests {
		if got := scanIncludes([]byte(tt.text)); !slices.Equal(got, tt.want) {
			t.Errorf("scanIncludes(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

// FuzzScanIncludes checks scanIncludes against the conf package: whenever conf
// tries to read an include, the scanner must have reported that path. Text with
// a path separator is skipped, so conf can only try files of this package's
// directory, none of which includes anything; an include that fails shows in
// conf's error.
func FuzzScanIncludes(f *testing.F) {
	for _, s := range []string{
		"include a.conf", "a { include 'b' }", "a = [ { include c } ]", "x: 1; include d",
		"x: 'y'\ninclude \"e\"", "INCLUDE f", "a: b, include g", "include\th;",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if strings.ContainsAny(string(data), `/\`) {
			t.Skip()
		}
		_, err := conf.ParseWithChecks(string(data))
		if err == nil {
			return
		}
		const marker = "error parsing include file '"
		msg := err.Error()
		i := strings.Index(msg, marker)
		if i < 0 {
			return
		}
		rest := msg[i+len(marker):]
		// The path may itself hold "', "; try each cut.
		for j := range len(rest) {
			if strings.HasPrefix(rest[j:], "', ") {
				for _, d := range scanIncludes(data) {
					if d.path == rest[:j] {
						return
					}
				}
			}
		}
		t.Errorf("conf followed an include the scanner missed: %v; scanner found %v", err, scanIncludes(data))
	})
}
