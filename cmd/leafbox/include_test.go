package main

import (
	"context"
	"errors"
	"fmt"
	"os"
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

// TestCheckConfigIncludeLoop pins that leafbox -t refuses include cycles and
// too deep nesting with the file and line of the include that closes them,
// exit code 1, instead of overflowing the stack.
func TestCheckConfigIncludeLoop(t *testing.T) {
	boundStack(t)
	chain := func(n int) map[string]string {
		files := map[string]string{}
		for i := range n {
			files[fmt.Sprintf("c%d.conf", i)] = fmt.Sprintf("# level %d\ninclude c%d.conf\n", i, i+1)
		}
		files[fmt.Sprintf("c%d.conf", n)] = "port: 4222\n"
		return files
	}
	tests := []struct {
		name  string
		files map[string]string
		main  string
		want  string // "" means valid
	}{
		{
			name:  "self",
			files: map[string]string{"a.conf": "port: 4222\ninclude a.conf\n"},
			main:  "a.conf",
			want:  "a.conf:2: include cycle: a.conf -> a.conf",
		},
		{
			name: "two files",
			files: map[string]string{
				"a.conf": "port: 4222\ninclude \"b.conf\"\n",
				"b.conf": "# b\n\nINCLUDE 'a.conf'\n",
			},
			main: "a.conf",
			want: "b.conf:3: include cycle: a.conf -> b.conf -> a.conf",
		},
		{
			name: "through a directory, inside a block",
			files: map[string]string{
				"a.conf":        "authorization {\n  include sub/auth.conf\n}\n",
				"sub/auth.conf": "token: abc; include ../a.conf\n",
			},
			main: "a.conf",
			want: "sub/auth.conf:1: include cycle: a.conf -> sub/auth.conf -> a.conf",
		},
		{
			name: "diamond is not a cycle",
			files: map[string]string{
				"a.conf": "include b.conf\ninclude c.conf\n",
				"b.conf": "include d.conf\n",
				"c.conf": "max_payload: 1024\n",
				"d.conf": "port: 4222\n",
			},
			main: "a.conf",
		},
		{name: "depth 10", files: chain(maxIncludeDepth), main: "c0.conf"},
		{
			name:  "depth 11",
			files: chain(maxIncludeDepth + 1),
			main:  "c0.conf",
			want:  "c10.conf:2: includes nested too deeply: c0.conf -> c1.conf -> c2.conf -> c3.conf -> c4.conf -> c5.conf -> c6.conf -> c7.conf -> c8.conf -> c9.conf -> c10.conf -> c11.conf (more than 10 levels)",
		},
		{
			name: "exponential fan-out",
			files: func() map[string]string {
				files := map[string]string{}
				for i := range 9 {
					files[fmt.Sprintf("f%d.conf", i)] = strings.Repeat(fmt.Sprintf("include f%d.conf\n", i+1), 2)
				}
				files["f9.conf"] = "port: 4222\n"
				return files
			}(),
			main: "f0.conf",
			want: "too many includes: more than 256 files read through include",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tt.files {
				if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(dir, name), text)
			}
			t.Chdir(dir)
			var stdout, stderr strings.Builder
			code := run(context.Background(), []string{"-t", "-c", tt.main}, &stdout, &stderr)
			if tt.want == "" {
				if code != 0 {
					t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
				}
				return
			}
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr:\n%s\nwant it to contain\n%s", stderr.String(), tt.want)
			}
		})
	}
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
	_, err := parseConfigFile("a.conf")
	if want := "$LB_TEST_INCLUDE:2: include cycle: a.conf -> $LB_TEST_INCLUDE -> a.conf"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	t.Setenv("LB_TEST_INCLUDE", "1024")
	if _, err := parseConfigFile("a.conf"); err != nil {
		t.Errorf("plain variable: %v", err)
	}
	// Plain variables do not count as includes.
	var many strings.Builder
	for i := range maxIncludes + 10 {
		fmt.Fprintf(&many, "v%d: $LB_TEST_INCLUDE\n", i)
	}
	many.WriteString("port: $v0\n")
	if _, err := parseConfigData("many.conf", []byte(many.String())); errors.Is(err, errIncludeCount) {
		t.Errorf("%d plain variables: %v", maxIncludes+10, err)
	}
}

// TestParseConfigIncludeLoopSentinels pins the error kinds of include checks.
func TestParseConfigIncludeLoopSentinels(t *testing.T) {
	boundStack(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.conf"), "include a.conf\n")
	_, err := parseConfigFile(filepath.Join(dir, "a.conf"))
	if !errors.Is(err, errIncludeCycle) {
		t.Errorf("file: %v, want %v", err, errIncludeCycle)
	}
	t.Chdir(dir)
	_, err = parseConfigData("mem.conf", []byte("port: 1\ninclude a.conf\n"))
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
