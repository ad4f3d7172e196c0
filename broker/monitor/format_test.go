package monitor

import (
	"testing"
	"time"
)

func TestFormatUptime(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{999 * time.Millisecond, "0s"},
		{59 * time.Second, "59s"},
		{time.Minute, "1m0s"},
		{time.Hour + 5*time.Second, "1h0m5s"},
		{day, "1d0h0m0s"},
		{3*day + 4*time.Hour + 12*time.Second, "3d4h0m12s"},
		{365 * day, "1y0d0h0m0s"},
		{800*day + time.Minute, "2y70d0h1m0s"},
	}
	for _, tc := range tests {
		if got := FormatUptime(tc.d); got != tc.want {
			t.Errorf("FormatUptime(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg     Config
		wantErr error
	}{
		{Config{Port: 8222}, nil},
		{Config{Host: "0.0.0.0", Port: 65535}, nil},
		{Config{Port: -1}, nil},
		{Config{Port: 0}, ErrDisabled},
		{Config{Port: -2}, ErrInvalidPort},
		{Config{Port: 65536}, ErrInvalidPort},
	}
	for _, tc := range tests {
		if err := tc.cfg.Validate(); !errorsIs(err, tc.wantErr) {
			t.Errorf("Validate(%+v) = %v, want %v", tc.cfg, err, tc.wantErr)
		}
	}
}

func TestValidLiteralSubject(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"foo", true}, {"foo.bar", true}, {"$SYS.x", true},
		{"", false}, {"foo.", false}, {".foo", false}, {"foo..bar", false},
		{"foo.*", false}, {"foo.>", false}, {"foo bar", false}, {"foo\tbar", false},
		{"foo*bar", true}, // only whole-token wildcards count
	}
	for _, tc := range tests {
		if got := validLiteralSubject(tc.s); got != tc.want {
			t.Errorf("validLiteralSubject(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
