package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/subject"
	"github.com/leafbox/leafbox/broker/sublist"
)

// responsePrefix starts the reply subjects a service import puts on the
// requests it carries into the exporting account, as nats-server's do.
const responsePrefix = "_R_."

// requestInfoHeader is the header nats-server adds to a request that
// crosses a service import, naming the requester's account.
const requestInfoHeader = "Nats-Request-Info"

// ErrNoAccount reports an account name the configuration does not define.
var ErrNoAccount = errors.New("broker: no such account")

// account is one subject space: its own routing table and watchers, plus
// the links to other accounts its imports create. Everything but the
// watchers and the response map is fixed when the server is built.
type account struct {
	name string
	subs *sublist.Sublist[*subscription]
	// watchers are the WatchSubscriptions registrations on this account,
	// guarded by Server.interest.mu.
	watchers []*watcher

	// streamsOut are the imports of this account's streams by others:
	// a message published here that matches one is routed in the
	// importing account as well, under the mapped subject.
	streamsOut []*streamImport
	// services are this account's service imports: a message published
	// here on a local subject goes to the exporting account.
	services []*serviceImport
	// responses maps the reply subjects handed to this account's
	// responders (it exports services) back to the requesters.
	responses responseMap
	// reqInfo is the Nats-Request-Info JSON of requests from this account.
	reqInfo []byte
	// linked is set at build time when messages published here may leave
	// the account (stream exports imported, service imports, or service
	// exports imported, whose responses go back): one test per publish.
	linked bool
}

// crossing reports whether a message published in a may leave it.
func (a *account) crossing() bool { return a.linked }

// streamImport is one stream import, seen from the exporting account.
type streamImport struct {
	filter string // the exporter's subjects
	dst    *account
	m      *mapping
}

// serviceImport is one service import, seen from the importing account.
type serviceImport struct {
	local     string // what the importer's clients publish to
	exporter  *account
	m         *mapping
	single    bool
	threshold time.Duration
}

// responseMap holds the pending responses of service requests that came
// into an account: reply subject handed to the responder → requester.
type responseMap struct {
	n      atomic.Int32 // len(m), read on every publish in the account
	mu     sync.Mutex
	m      map[string]*pendingResponse
	prefix string // "_R_.<random>."
	swept  time.Time
}

// pendingResponse is where the responses to one request go.
type pendingResponse struct {
	dst     *account
	reply   string // the requester's reply subject in dst
	single  bool   // removed with the first response
	expires time.Time
}

// sweepEvery bounds how often an add looks for expired responses.
const sweepEvery = time.Second

// add registers a request from dst with reply subject reply and returns
// the reply subject the responders see.
func (r *responseMap) add(dst *account, reply []byte, single bool, threshold time.Duration) string {
	now := time.Now()
	var b [len(responsePrefix) + 16]byte
	name := append(b[:0], r.prefix...)
	name = appendRandomToken(name)
	key := string(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]*pendingResponse)
	}
	if now.Sub(r.swept) > sweepEvery {
		r.swept = now
		for k, p := range r.m {
			if now.After(p.expires) {
				delete(r.m, k)
			}
		}
	}
	r.m[key] = &pendingResponse{dst: dst, reply: string(reply), single: single, expires: now.Add(threshold)}
	r.n.Store(int32(len(r.m)))
	return key
}

// take returns the requester of a response on subj, or nil; a singleton
// is removed.
func (r *responseMap) take(subj []byte) *pendingResponse {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.m[string(subj)]
	if p == nil {
		return nil
	}
	if p.single || time.Now().After(p.expires) {
		delete(r.m, string(subj))
		r.n.Store(int32(len(r.m)))
		if !p.single {
			return nil
		}
	}
	return p
}

const tokenChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// appendRandomToken appends six random base-62 characters.
func appendRandomToken(b []byte) []byte {
	v := rand.Uint64()
	for range 6 {
		b = append(b, tokenChars[v%62])
		v /= 62
	}
	return b
}

// sublistOptions is the configuration of each account's routing table.
func (c *Config) sublistOptions() sublist.Options {
	if c.DisableSublistCache {
		return sublist.Options{CacheSize: -1}
	}
	return sublist.Options{}
}

// newAccount makes an empty account whose routing table has opts.
func newAccount(name string, opts sublist.Options) *account {
	a := &account{name: name, subs: sublist.New[*subscription](opts)}
	a.responses.prefix = string(appendRandomToken([]byte(responsePrefix))) + "."
	js, _ := json.Marshal(struct {
		Account string `json:"acc"`
	}{name})
	a.reqInfo = js
	return a
}

// buildAccounts makes the global, system and configured accounts and links
// their imports. cfg has been validated.
func buildAccounts(cfg *Config) (map[string]*account, error) {
	accs := map[string]*account{
		GlobalAccount:        newAccount(GlobalAccount, cfg.sublistOptions()),
		DefaultSystemAccount: newAccount(DefaultSystemAccount, cfg.sublistOptions()),
	}
	for _, a := range cfg.Accounts {
		accs[a.Name] = newAccount(a.Name, cfg.sublistOptions())
	}
	exports := make(map[string][]Export, len(cfg.Accounts))
	for _, a := range cfg.Accounts {
		exports[a.Name] = a.Exports
	}
	for _, a := range cfg.Accounts {
		imp := accs[a.Name]
		for _, im := range a.Imports {
			exp := accs[im.Account]
			switch im.Kind {
			case Stream:
				m, err := newMapping(im.Subject, im.local())
				if err != nil {
					return nil, fmt.Errorf("broker: account %q: %w", a.Name, err)
				}
				exp.streamsOut = append(exp.streamsOut, &streamImport{filter: im.Subject, dst: imp, m: m})
				exp.linked = true
			case Service:
				m, err := newMapping(im.local(), im.Subject)
				if err != nil {
					return nil, fmt.Errorf("broker: account %q: %w", a.Name, err)
				}
				e := serviceExport(exports[im.Account], im.Subject)
				threshold := e.ResponseThreshold
				if threshold <= 0 {
					threshold = DefaultResponseThreshold
				}
				imp.services = append(imp.services, &serviceImport{local: im.local(), exporter: exp, m: m,
					single: e.ResponseType == Singleton, threshold: threshold})
				imp.linked, exp.linked = true, true
			}
		}
	}
	return accs, nil
}

// serviceExport is the service export covering subj (validation found one).
func serviceExport(exports []Export, subj string) Export {
	for _, e := range exports {
		if e.Kind == Service && subject.SubsetOf(subj, e.Subject) {
			return e
		}
	}
	return Export{Kind: Service}
}

// crossAccounts carries a message published in account a (already routed
// there) to the accounts linked by imports: stream imports of a's
// subjects, a's service imports, and responses to requests a's responders
// received. It reports whether anybody received it. Messages that crossed
// do not cross again: imports are not transitive.
func (s *Server) crossAccounts(a *account, from *client, subj, reply, hdr, data []byte) bool {
	bp := s.mapBufs.Get().(*[]byte)
	defer s.mapBufs.Put(bp)
	delivered := false
	for _, si := range a.streamsOut {
		if !subject.Matches(si.filter, subj) {
			continue
		}
		mapped := si.m.appendMapped((*bp)[:0], subj)
		*bp = mapped
		if s.routeIn(si.dst, from, mapped, reply, hdr, data, nil) {
			delivered = true
		}
	}
	for _, si := range a.services {
		if !subject.Matches(si.local, subj) {
			continue
		}
		buf := si.m.appendMapped((*bp)[:0], subj)
		n := len(buf)
		var newReply []byte
		if len(reply) > 0 {
			buf = append(buf, si.exporter.responses.add(a, reply, si.single, si.threshold)...)
			newReply = buf[n:]
		}
		h := len(buf)
		buf = appendRequestInfo(buf, hdr, a.reqInfo)
		*bp = buf
		if s.routeIn(si.exporter, from, buf[:n], newReply, buf[h:], data, nil) {
			delivered = true
		}
		break // the first matching service import takes the request
	}
	if a.responses.n.Load() > 0 && bytes.HasPrefix(subj, []byte(responsePrefix)) {
		if p := a.responses.take(subj); p != nil {
			if s.routeIn(p.dst, from, []byte(p.reply), nil, hdr, data, nil) {
				delivered = true
			}
		}
	}
	return delivered
}

// appendRequestInfo appends hdr with a Nats-Request-Info header naming the
// requester's account (info), as nats-server adds to requests crossing a
// service import.
func appendRequestInfo(dst, hdr, info []byte) []byte {
	if len(hdr) < len("NATS/1.0\r\n\r\n") {
		dst = append(dst, "NATS/1.0\r\n"...)
	} else {
		dst = append(dst, hdr[:len(hdr)-2]...) // up to the blank line
	}
	dst = append(dst, requestInfoHeader+": "...)
	dst = append(dst, info...)
	return append(dst, "\r\n\r\n"...)
}

// Accounts lists the accounts' names, sorted, the global and system
// accounts included.
func (s *Server) Accounts() []string {
	return slices.Sorted(maps.Keys(s.accounts))
}

// SystemAccount is the name of the system account.
func (s *Server) SystemAccount() string {
	if s.cfg.SystemAccount != "" {
		return s.cfg.SystemAccount
	}
	return DefaultSystemAccount
}

// account returns the named account; "" is the global account.
func (s *Server) account(name string) (*account, error) {
	if name == "" {
		return s.gacc, nil
	}
	a := s.accounts[name]
	if a == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoAccount, name)
	}
	return a, nil
}

// accountOf is the account of an authenticated identity. New and
// ReloadAuth accept only users whose account exists.
func (s *Server) accountOf(id *auth.Identity) *account {
	if a := s.accounts[id.Account]; a != nil {
		return a
	}
	return s.gacc
}

// errAccountChanged reports, on reload, a user now in another account.
var errAccountChanged = errors.New("broker: user moved to another account")

// account is the client's account, read off the reader goroutine.
func (c *client) account() *account {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acc
}

// hasSubs reports whether the client has subscriptions.
func (c *client) hasSubs() bool { return c.numSubs.Load() > 0 }
