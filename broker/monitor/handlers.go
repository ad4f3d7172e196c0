package monitor

import (
	"encoding/json"
	"math"
	"net"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"
)

// endpoint indexes the per-endpoint request counters.
type endpoint int

const (
	epRoot endpoint = iota
	epVarz
	epConnz
	epSubsz
	epLeafz
	epBridgez
	epHealthz
	epMetrics
	epStatusz
	numEndpoints
)

// path is the endpoint's URL path, also its http_req_stats key.
func (e endpoint) path() string {
	switch e {
	case epVarz:
		return "/varz"
	case epConnz:
		return "/connz"
	case epSubsz:
		return "/subsz"
	case epLeafz:
		return "/leafz"
	case epBridgez:
		return "/bridgez"
	case epHealthz:
		return "/healthz"
	case epMetrics:
		return "/metrics"
	case epStatusz:
		return "/statusz"
	}
	return "/"
}

// routeOf maps an exact path to its endpoint. /leafz exists only for a
// LeafzSource.
func (s *Server) routeOf(path string) (endpoint, bool) {
	switch path {
	case "/":
		return epRoot, true
	case "/varz":
		return epVarz, true
	case "/connz":
		return epConnz, true
	case "/subsz", "/subscriptionsz": // the latter is nats-server's older name
		return epSubsz, true
	case "/leafz":
		_, ok := s.src.(LeafzSource)
		return epLeafz, ok
	case "/bridgez":
		_, ok := s.src.(BridgezSource)
		return epBridgez, ok
	case "/healthz":
		return epHealthz, true
	case "/metrics":
		return epMetrics, true
	case "/statusz":
		return epStatusz, true
	}
	return 0, false
}

// serveHTTP answers one request: credentials when Basic authentication
// is configured (401; /healthz is always open), exact path (404
// otherwise), GET or HEAD only (405), a query that parses (400), then the
// endpoint. Only served requests are counted.
func (s *Server) serveHTTP(w *response, r *request) {
	if s.auth != nil && r.path != "/healthz" {
		switch res, user := s.auth.allow(r.authorization); res {
		case authNone:
			s.authNone.Add(1)
			w.challenge = true
			w.text(statusUnauthorized, "unauthorized")
			return
		case authBad:
			s.authBad.Add(1)
			if f := s.cfg.OnAuthFailure; f != nil && r.remote != nil {
				f(r.remote.String(), user)
			}
			w.challenge = true
			w.text(statusUnauthorized, "unauthorized")
			return
		}
	}
	ep, ok := s.routeOf(r.path)
	if !ok {
		w.text(statusNotFound, "404 page not found")
		return
	}
	if r.method != methodGet && r.method != methodHead {
		w.allow = true
		w.text(statusMethodNotAllowed, "method not allowed")
		return
	}
	var q url.Values
	if r.rawQuery != "" {
		var err error
		if q, err = url.ParseQuery(r.rawQuery); err != nil {
			w.text(statusBadRequest, "invalid query: "+err.Error())
			return
		}
	}
	s.reqs[ep].Add(1)
	switch ep {
	case epRoot:
		s.handleRoot(w)
	case epVarz:
		s.handleVarz(w)
	case epConnz:
		s.handleConnz(w, q)
	case epSubsz:
		s.handleSubsz(w, q)
	case epLeafz:
		s.handleLeafz(w, q)
	case epBridgez:
		s.handleBridgez(w)
	case epHealthz:
		s.handleHealthz(w)
	case epMetrics:
		s.handleMetrics(w)
	case epStatusz:
		s.handleStatusz(w)
	}
}

func (s *Server) handleVarz(w *response) {
	v := s.varz()
	s.writeJSON(w, statusOK, &v, true)
}

func (s *Server) handleConnz(w *response, q url.Values) {
	opts, err := connzOptions(q)
	if err != nil {
		badRequest(w, err)
		return
	}
	c := s.src.Connz(opts)
	now := s.now().UTC()
	if c.Now.IsZero() {
		c.Now = now
	}
	c.Offset, c.Limit = opts.Offset, opts.Limit
	if c.Conns == nil {
		c.Conns = []ConnInfo{}
	}
	fillConnTimes(c.Conns, now)
	s.writeJSON(w, statusOK, &c, true)
}

func (s *Server) handleSubsz(w *response, q url.Values) {
	opts, err := subszOptions(q)
	if err != nil {
		badRequest(w, err)
		return
	}
	sz := s.src.Subsz(opts)
	if sz.Now.IsZero() {
		sz.Now = s.now().UTC()
	}
	sz.Offset, sz.Limit = opts.Offset, opts.Limit
	s.writeJSON(w, statusOK, &sz, true)
}

func (s *Server) handleLeafz(w *response, q url.Values) {
	var opts LeafzOptions
	var err error
	if opts.Subscriptions, err = queryBool(q, "subs"); err != nil {
		badRequest(w, err)
		return
	}
	l := s.src.(LeafzSource).Leafz(opts)
	if l.Now.IsZero() {
		l.Now = s.now().UTC()
	}
	if l.Leafs == nil {
		l.Leafs = []LeafInfo{}
	}
	s.writeJSON(w, statusOK, &l, true)
}

func (s *Server) handleBridgez(w *response) {
	b := s.src.(BridgezSource).Bridgez()
	if b.Now.IsZero() {
		b.Now = s.now().UTC()
	}
	if b.Bridges == nil {
		b.Bridges = []BridgeStatus{}
	}
	s.writeJSON(w, statusOK, &b, true)
}

// handleHealthz answers compact JSON, as nats-server does, so probes can
// match on the exact body.
func (s *Server) handleHealthz(w *response) {
	hs := HealthStatus{Status: StatusOK}
	code := statusOK
	err := s.src.Healthz()
	switch classify(err) {
	case healthDegraded:
		hs = HealthStatus{Status: StatusDegraded, Error: err.Error()}
	case healthUnavailable:
		hs = HealthStatus{Status: StatusUnavailable, Error: err.Error()}
		code = statusServiceUnavailable
		s.log.Debug("health check failed", "err", err)
	}
	s.writeJSON(w, code, &hs, false)
}

// handleMetrics renders into the connection's scratch body, so a
// Prometheus scraper on a kept-alive connection reuses one buffer.
func (s *Server) handleMetrics(w *response) {
	v := s.varz()
	v.Runtime = readRuntime()
	if bs, ok := s.src.(BridgezSource); ok {
		v.Bridges = bs.Bridgez().Bridges
	}
	sz := s.src.Subsz(SubszOptions{Limit: DefaultSubListSize})
	health := classify(s.src.Healthz())

	w.status = statusOK
	w.contentType = metricsContentType
	w.body = appendMetrics(w.body[:0], &v, &sz.SublistStats, health)
}

// varz asks the Source and fills what the monitor measures itself.
func (s *Server) varz() Varz {
	v := s.src.Varz()
	now := s.now().UTC()
	v.Now = now
	if !v.Start.IsZero() {
		v.Uptime = FormatUptime(now.Sub(v.Start))
	}
	if mem, err := s.proc.rss(); err == nil {
		v.Mem = mem
	} else {
		s.log.Debug("read resident memory", "err", err)
	}
	if cpu, err := s.proc.cpu(); err == nil {
		v.CPU = cpu
	} else {
		s.log.Debug("read cpu time", "err", err)
	}
	v.Cores = runtime.NumCPU()
	v.MaxProcs = runtime.GOMAXPROCS(0)
	// A negative input only reads the limit; MaxInt64 means none was set.
	if lim := debug.SetMemoryLimit(-1); lim != math.MaxInt64 {
		v.MemLimit = lim
	}
	if v.HTTPHost == "" {
		v.HTTPHost = s.cfg.host()
	}
	if s.auth != nil {
		v.HTTPSecurity = &SecurityMetrics{AuthNoCredentials: s.authNone.Load(), AuthBadCredentials: s.authBad.Load()}
	}
	switch {
	case s.cfg.TLS != nil:
		if v.HTTPSPort == 0 {
			v.HTTPSPort = s.port()
		}
	case v.HTTPPort == 0:
		v.HTTPPort = s.port()
	}
	v.HTTPReqStats = make(map[string]uint64, numEndpoints)
	for ep := range numEndpoints {
		if ep == epLeafz {
			if _, ok := s.src.(LeafzSource); !ok {
				continue
			}
		}
		if ep == epBridgez {
			if _, ok := s.src.(BridgezSource); !ok {
				continue
			}
		}
		v.HTTPReqStats[ep.path()] = s.reqs[ep].Load()
	}
	return v
}

func (s *Server) port() int {
	if s.ln == nil {
		return 0
	}
	if a, ok := s.ln.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// writeJSON answers v with nats-server's headers; indent matches its
// pretty-printed documents.
func (s *Server) writeJSON(w *response, code int, v any, indent bool) {
	var b []byte
	var err error
	if indent {
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		s.log.Error("encode monitoring response", "err", err)
		w.text(statusInternalServerError, "internal error")
		return
	}
	w.status = code
	w.contentType = jsonContentType
	w.cors = true
	w.noStore = true
	w.body = b
}

// badRequest answers 400 with the reason, without the Go package prefix, so
// texts such as "invalid sorting option: x" read as nats-server's do.
func badRequest(w *response, err error) {
	w.text(statusBadRequest, strings.TrimPrefix(err.Error(), "monitor: "))
}
