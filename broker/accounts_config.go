package broker

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leafbox/leafbox/broker/subject"
)

// GlobalAccount is the name of nats-server's default account: clients that
// authenticate as a user of the authorization block, or without any
// authorization, are in it. It cannot be declared in Config.Accounts.
const GlobalAccount = "$G"

// DefaultSystemAccount is the system account's name when
// Config.SystemAccount is empty, as in nats-server. It always exists; users
// may be given to it, but leafbox publishes no system events in it.
const DefaultSystemAccount = "$SYS"

// DefaultResponseThreshold is how long a service import waits for the
// responses to one request when its export sets no threshold
// (nats-server's default).
const DefaultResponseThreshold = 2 * time.Minute

// ErrAccountConfig reports an invalid accounts configuration.
var ErrAccountConfig = errors.New("broker: invalid accounts")

// Account is one entry of nats-server's accounts block: its own subject
// space, with the subjects it shares (Exports) and takes from other
// accounts (Imports). Its users are auth.User entries naming it.
type Account struct {
	Name    string
	Exports []Export
	Imports []Import
}

// ExportKind says whether an export or import is a stream or a service.
type ExportKind int

const (
	// Stream exports messages published in the exporting account to the
	// importers' subscribers.
	Stream ExportKind = iota
	// Service lets importers send requests into the exporting account;
	// responses travel back to the requester's account.
	Service
)

func (k ExportKind) String() string {
	if k == Service {
		return "service"
	}
	return "stream"
}

// ResponseType says how many responses a service request may get
// (nats-server's response_type).
type ResponseType int

const (
	// Singleton: one response; the reply mapping ends with it.
	Singleton ResponseType = iota
	// Streamed: any number of responses until the response threshold.
	Streamed
	// Chunked: as Streamed (nats-server keeps the distinction for
	// latency tracking only).
	Chunked
)

// ParseResponseType maps nats-server's response_type names.
func ParseResponseType(s string) (ResponseType, error) {
	switch strings.ToLower(s) {
	case "singleton", "single":
		return Singleton, nil
	case "stream":
		return Streamed, nil
	case "chunked", "chunk":
		return Chunked, nil
	}
	return 0, fmt.Errorf("unknown response type %q (want singleton, stream or chunked)", s)
}

// Export is one entry of an account's exports.
type Export struct {
	Kind    ExportKind
	Subject string // wildcards allowed
	// Accounts, when not empty, are the only accounts that may import it
	// (a private export); empty means public.
	Accounts []string
	// ResponseType and ResponseThreshold apply to services.
	ResponseType      ResponseType
	ResponseThreshold time.Duration // 0: DefaultResponseThreshold
}

// Import is one entry of an account's imports.
type Import struct {
	Kind    ExportKind
	Account string // the exporting account
	Subject string // the subject as the exporter names it (wildcards allowed)
	// To is the subject in the importing account: for a stream, where the
	// exporter's messages appear; for a service, what the importer's
	// clients publish to. Empty means Subject. Wildcards in To take the
	// tokens that Subject's wildcards matched, in order.
	To string
	// Prefix (streams only) puts the exporter's subjects under PREFIX.
	Prefix string
}

// local is the import's subject in the importing account.
func (im *Import) local() string {
	switch {
	case im.To != "":
		return im.To
	case im.Prefix != "":
		return im.Prefix + "." + im.Subject
	}
	return im.Subject
}

// validateAccounts checks the accounts block, the system account and the
// account of every user, reporting every problem at once.
func (c *Config) validateAccounts() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrAccountConfig}, args...)...))
	}
	names := map[string]*Account{GlobalAccount: nil, DefaultSystemAccount: nil}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		switch {
		case a.Name == "":
			bad("accounts[%d] has no name", i)
		case a.Name == GlobalAccount:
			bad("%q is a reserved account", a.Name)
		case strings.ContainsAny(a.Name, " \t\r\n"):
			bad("account name %q contains whitespace", a.Name)
		case names[a.Name] != nil:
			bad("account %q is defined twice", a.Name)
		}
		names[a.Name] = a
	}
	exists := func(n string) bool { _, ok := names[n]; return ok }
	if c.SystemAccount != "" && !exists(c.SystemAccount) {
		bad("system_account %q is not a defined account", c.SystemAccount)
	}
	for _, u := range c.Auth.Users {
		if u.Account != "" && !exists(u.Account) {
			bad("user %q: account %q is not defined", cmpOr(u.Username, u.Nkey), u.Account)
		}
	}
	for _, a := range c.Accounts {
		for _, e := range a.Exports {
			if !subject.ValidString(e.Subject) {
				bad("account %q: %s export %q is not a valid subject", a.Name, e.Kind, e.Subject)
			}
			if e.ResponseThreshold < 0 {
				bad("account %q: service export %q: response threshold is negative", a.Name, e.Subject)
			}
			for _, n := range e.Accounts {
				if !exists(n) {
					bad("account %q: %s export %q: account %q is not defined", a.Name, e.Kind, e.Subject, n)
				}
			}
		}
		for _, im := range a.Imports {
			if err := c.checkImport(a.Name, names, im); err != nil {
				errs = append(errs, fmt.Errorf("%w: account %q: %w", ErrAccountConfig, a.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkImport checks one import of account importer: the exporter exists
// and exports the subject to it, and the subjects map.
func (c *Config) checkImport(importer string, names map[string]*Account, im Import) error {
	what := fmt.Sprintf("%s import %q from %q", im.Kind, im.Subject, im.Account)
	exp, ok := names[im.Account]
	switch {
	case !ok:
		return fmt.Errorf("%s: account %q is not defined", what, im.Account)
	case im.Account == importer:
		return fmt.Errorf("%s: an account cannot import from itself", what)
	case !subject.ValidString(im.Subject):
		return fmt.Errorf("%s: not a valid subject", what)
	case im.Prefix != "" && im.Kind == Service:
		return fmt.Errorf("%s: prefix applies to stream imports only (use to)", what)
	case im.Prefix != "" && im.To != "":
		return fmt.Errorf("%s: prefix and to cannot both be set", what)
	case im.Prefix != "" && (!subject.ValidLiteralString(im.Prefix)):
		return fmt.Errorf("%s: prefix %q is not a literal subject", what, im.Prefix)
	case im.To != "" && !subject.ValidString(im.To):
		return fmt.Errorf("%s: to %q is not a valid subject", what, im.To)
	}
	from, to := im.Subject, im.local()
	if im.Kind == Service {
		from, to = to, from // requests go from the importer's subject to the exporter's
	}
	if _, err := newMapping(from, to); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if exp == nil || !exportsTo(exp, importer, im) {
		return fmt.Errorf("%s: not authorized (no matching %s export for this account)", what, im.Kind)
	}
	return nil
}

// exportsTo reports whether exporter has an export of im's kind that covers
// im's subject and allows account importer.
func exportsTo(exporter *Account, importer string, im Import) bool {
	for _, e := range exporter.Exports {
		if e.Kind != im.Kind || !subject.SubsetOf(im.Subject, e.Subject) {
			continue
		}
		if len(e.Accounts) == 0 || slices.Contains(e.Accounts, importer) {
			return true
		}
	}
	return false
}
