package broker

import "testing"

// TestInfoVersion pins the version INFO advertises: nats-server's protocol
// release, leafbox's version as build metadata made of the characters
// semver allows.
func TestInfoVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"dev", "2.15.2+leafbox.dev"},
		{"0.1.0", "2.15.2+leafbox.0.1.0"},
		{"v0.3-4-gabc-dirty", "2.15.2+leafbox.v0.3-4-gabc-dirty"},
		{"v1.2.3+build.7", "2.15.2+leafbox.v1.2.3-build.7"},
		{"feature/x y_z", "2.15.2+leafbox.feature-x-y-z"},
		{"1..2.", "2.15.2+leafbox.1.2"},
		{"ä", "2.15.2+leafbox.-"},
		{"", "2.15.2+leafbox.unknown"},
		{"...", "2.15.2+leafbox.unknown"},
	} {
		if got := infoVersion(tc.in); got != tc.want {
			t.Errorf("infoVersion(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
