package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
)

// TestCheckConfigIncludeLoop pins that leafbox -t refuses include cycles and
// too deep nesting with the file and line of the include that closes them,
// exit code 1, instead of overflowing the stack.
func TestCheckConfigIncludeLoop(t *testing.T) {
	// A runaway recursion fails fast (see boundStack in internal/config).
	old := debug.SetMaxStack(64 << 20)
	t.Cleanup(func() { debug.SetMaxStack(old) })
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
		{name: "depth 10", files: chain(config.MaxIncludeDepth), main: "c0.conf"},
		{
			name:  "depth 11",
			files: chain(config.MaxIncludeDepth + 1),
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
				daemonWriteConf(t, dir, name, text)
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
