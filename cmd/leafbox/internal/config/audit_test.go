package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/broker/audit"
)

func TestAuditBlock(t *testing.T) {
	o, err := ParseData("a.conf", []byte(`
authorization { users = [ { user: ops, password: o } ] }
audit { admin_user: ops, rate: 0.5, burst: 4, max_sources: 64, queue: 32, summary_interval: "1m" }
`))
	if err != nil {
		t.Fatal(err)
	}
	want := audit.Config{AdminUser: "ops", Rate: 0.5, Burst: 4, Sources: 64, Queue: 32, SummaryInterval: time.Minute}
	if !reflect.DeepEqual(o.Audit, want) {
		t.Errorf("got %+v, want %+v", o.Audit, want)
	}
}

func TestAuditBlockErrors(t *testing.T) {
	tests := []struct{ conf, want string }{
		{"audit { admin_user: ops }", `a.conf:1: audit: bad value: admin_user "ops" is not a user of the authorization users array`},
		{"authorization { users = [ { user: ops, password: o } ] }\naudit { admin_user: ops, rate: 0 }", `a.conf:2: audit.rate: bad value: rate must be a positive number`},
		{"audit { rate: fast }", `a.conf:1: audit.rate: wrong type: expected number, got string`},
		{"audit { burst: 0 }", `a.conf:1: audit.burst: bad value`},
		{"audit {\n admin: ops\n}", `a.conf:2: audit.admin: unknown field`},
	}
	for _, tt := range tests {
		_, err := ParseData("a.conf", []byte(tt.conf))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %q", tt.conf, err, tt.want)
		}
	}
}
