package monitor

import (
	"encoding/json"
	"math"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
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
	epHealthz
	epMetrics
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
	case epHealthz:
		return "/healthz"
	case epMetrics:
		return "/metrics"
	}
	return "/"
}

// Handler returns the monitoring routes. New serves it on its listener; it
// is exported for embedding under another server and for tests.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", s.route(epRoot, s.handleRoot))
	mux.Handle("/varz", s.route(epVarz, s.handleVarz))
	mux.Handle("/connz", s.route(epConnz, s.handleConnz))
	mux.Handle("/subsz", s.route(epSubsz, s.handleSubsz))
	// nats-server's older name for /subsz.
	mux.Handle("/subscriptionsz", s.route(epSubsz, s.handleSubsz))
	if _, ok := s.src.(LeafzSource); ok {
		mux.Handle("/leafz", s.route(epLeafz, s.handleLeafz))
	}
	mux.Handle("/healthz", s.route(epHealthz, s.handleHealthz))
	mux.Handle("/metrics", s.route(epMetrics, s.handleMetrics))
	return mux
}

// route wraps h with the checks every endpoint shares: exact path (the
// root pattern would match anything), GET or HEAD only, request counting.
func (s *Server) route(ep endpoint, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ep == epRoot && r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.reqs[ep].Add(1)
		h(w, r)
	})
}

func (s *Server) handleVarz(w http.ResponseWriter, r *http.Request) {
	v := s.varz()
	s.writeJSON(w, http.StatusOK, &v, true)
}

func (s *Server) handleConnz(w http.ResponseWriter, r *http.Request) {
	opts, err := connzOptions(r.URL.Query())
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
	s.writeJSON(w, http.StatusOK, &c, true)
}

func (s *Server) handleSubsz(w http.ResponseWriter, r *http.Request) {
	opts, err := subszOptions(r.URL.Query())
	if err != nil {
		badRequest(w, err)
		return
	}
	sz := s.src.Subsz(opts)
	if sz.Now.IsZero() {
		sz.Now = s.now().UTC()
	}
	sz.Offset, sz.Limit = opts.Offset, opts.Limit
	s.writeJSON(w, http.StatusOK, &sz, true)
}

func (s *Server) handleLeafz(w http.ResponseWriter, r *http.Request) {
	var opts LeafzOptions
	var err error
	if opts.Subscriptions, err = queryBool(r.URL.Query(), "subs"); err != nil {
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
	s.writeJSON(w, http.StatusOK, &l, true)
}

// handleHealthz answers compact JSON, as nats-server does, so probes can
// match on the exact body.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	hs := HealthStatus{Status: StatusOK}
	code := http.StatusOK
	if err := s.src.Healthz(); err != nil {
		hs = HealthStatus{Status: StatusUnavailable, Error: err.Error()}
		code = http.StatusServiceUnavailable
		s.log.Debug("health check failed", "err", err)
	}
	s.writeJSON(w, code, &hs, false)
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	v := s.varz()
	sz := s.src.Subsz(SubszOptions{Limit: DefaultSubListSize})
	healthy := s.src.Healthz() == nil

	bp := s.getBuf()
	*bp = appendMetrics((*bp)[:0], &v, &sz.SublistStats, healthy)
	h := w.Header()
	h.Set("Content-Type", metricsContentType)
	h.Set("Content-Length", strconv.Itoa(len(*bp)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(*bp)
	s.putBuf(bp)
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
	if v.HTTPPort == 0 {
		v.HTTPPort = s.port()
	}
	v.HTTPReqStats = make(map[string]uint64, numEndpoints)
	for ep := range numEndpoints {
		if ep == epLeafz {
			if _, ok := s.src.(LeafzSource); !ok {
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

// writeJSON writes v with nats-server's headers; indent matches its
// pretty-printed documents.
func (s *Server) writeJSON(w http.ResponseWriter, code int, v any, indent bool) {
	var b []byte
	var err error
	if indent {
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		s.log.Error("encode monitoring response", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// badRequest answers 400 with the reason, without the Go package prefix, so
// texts such as "invalid sorting option: x" read as nats-server's do.
func badRequest(w http.ResponseWriter, err error) {
	http.Error(w, strings.TrimPrefix(err.Error(), "monitor: "), http.StatusBadRequest)
}

// maxPooledBuf keeps one unusually large render from pinning memory.
const maxPooledBuf = 64 << 10

func (s *Server) getBuf() *[]byte {
	if bp, ok := s.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 8<<10)
	return &b
}

func (s *Server) putBuf(bp *[]byte) {
	if cap(*bp) <= maxPooledBuf {
		s.bufs.Put(bp)
	}
}
