package graphsim

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server is a running simulator.
type Server struct {
	opts  Options
	log   *slog.Logger
	clock func() time.Time

	ln      net.Listener
	srv     *http.Server
	baseURL string // https://127.0.0.1:PORT
	info    Info

	t        *tenant
	app      *app
	tokens   *tokenIssuer
	keys     *keyMaterial
	urlKey   []byte // signs download URLs and delta/skip tokens
	thr      *throttle
	othr     *outlookThrottle
	flt      *faults
	ctr      *counters
	uploads  *uploadSessions
	walks    walkStore
	ouploads outlookSessions // attachment upload and mailbox import sessions

	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
}

// Start seeds the tenant, writes the key material to StateDir and starts serving HTTPS. The
// server is listening when Start returns; it stops when ctx is cancelled or Close is called.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.StateDir == "" {
		return nil, errors.New("graphsim: Options.StateDir is required")
	}
	o.applyDefaults()
	now := o.Clock()

	km, err := makeKeyMaterial(o.StateDir, now)
	if err != nil {
		return nil, fmt.Errorf("graphsim: key material: %w", err)
	}
	ti, err := newTokenIssuer()
	if err != nil {
		return nil, err
	}
	blobs, err := newBlobStore(o.StateDir)
	if err != nil {
		return nil, fmt.Errorf("graphsim: blob store: %w", err)
	}
	s := &Server{
		opts:   o,
		log:    o.Logger,
		clock:  o.Clock,
		keys:   km,
		tokens: ti,
		urlKey: make([]byte, 32),
		ctr:    newCounters(),
		done:   make(chan struct{}),
	}
	_, _ = rand.Read(s.urlKey)
	s.t = newTenant(&o, blobs, now)
	s.app = newApp(s.t.ids, km.clientCert, &o)
	if err := s.populate(); err != nil {
		return nil, err
	}
	s.thr = newThrottle(o.ThrottleScale, len(s.t.users), o.Seed)
	s.othr = newOutlookThrottle(o.ThrottleScale, o.MailboxLatency, o.OutlookWindowScale)
	s.flt = newFaults(o.FaultRate, o.Seed)
	s.uploads = newUploadSessions()

	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("graphsim: listen: %w", err)
	}
	s.ln = ln
	s.baseURL = "https://" + advertisedHost(ln.Addr())
	s.info = Info{
		GraphURL:       s.baseURL + "/v1.0",
		AuthorityURL:   s.baseURL + "/" + s.t.tenantID,
		CAFile:         km.caFile,
		TenantID:       s.t.tenantID,
		ClientID:       s.app.clientID,
		ClientSecret:   s.app.secret,
		ClientCertFile: km.clientFile,
		SimURL:         s.baseURL + "/_sim",
		Domain:         s.t.domain,
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{km.serverCert}, MinVersion: tls.VersionTLS12},
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
	}
	go func() {
		err := s.srv.ServeTLS(ln, "", "")
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("graphsim: serve", "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.done:
		}
	}()
	s.log.Info("graphsim listening", "graph_url", s.info.GraphURL, "users", len(s.t.users),
		"tenant_id", s.t.tenantID)
	return s, nil
}

// populate seeds users, drives, mailboxes and groups and applies the import directory.
func (s *Server) populate() error {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	imported, err := scanImportDir(s.opts.ImportDir)
	if err != nil {
		return fmt.Errorf("graphsim: import: %w", err)
	}
	epoch := unixSec(seedEpoch)
	t.seedUsers(s.opts.Users, epoch)
	people := len(t.users)
	t.seedSpecialUsers(&s.opts, epoch)
	driveImported, mailImported := map[string]bool{}, map[string]bool{}
	for _, im := range imported {
		if im.root != "" {
			driveImported[strings.ToLower(im.email)] = true
		}
		if im.hasExchange() {
			mailImported[strings.ToLower(im.email)] = true
		}
	}
	for i, u := range t.users {
		if driveImported[strings.ToLower(u.upn)] {
			continue
		}
		files := s.opts.FilesPerUser
		if i >= people {
			files = min(files, 20) // shared, resource and unlicensed accounts: a small drive
		}
		t.seedDrive(u.drive, files, &s.opts)
	}
	for _, im := range imported {
		if err := t.importUser(im, unixSec(s.clock())); err != nil {
			return fmt.Errorf("graphsim: import %s: %w", im.email, err)
		}
	}
	for _, u := range t.users {
		if u.kind == mbxUser && len(t.correspondents) < 64 {
			t.correspondents = append(t.correspondents, u)
		}
	}
	t.seedMailboxes(&s.opts, mailImported)
	for _, im := range imported {
		if err := t.importExchange(im, unixSec(s.clock())); err != nil {
			return fmt.Errorf("graphsim: import %s: %w", im.email, err)
		}
	}
	t.seedGroups(s.opts.Groups)
	return nil
}

func advertisedHost(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Info describes the running server.
func (s *Server) Info() Info { return s.info }

// Close stops the server; in-flight requests get a few seconds to finish.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.closeErr = s.srv.Close()
		}
		s.uploads.removeAll()
		s.ouploads.removeAll()
	})
	return s.closeErr
}

// ServeHTTP dispatches on the escaped path: Graph under /v1.0, pre-authenticated download and
// upload URLs, the admin API, and otherwise the Entra ID endpoints under /{tenant}/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		defer func() {
			s.log.Debug("graphsim request", "method", r.Method, "path", r.URL.RequestURI(),
				"status", sw.status, "bytes", sw.n, "dur", time.Since(start))
		}()
		w = sw
	}
	p := r.URL.EscapedPath()
	switch {
	case p == "/v1.0" || strings.HasPrefix(p, "/v1.0/"):
		s.serveGraph(w, r)
	case strings.HasPrefix(p, "/_dl/"):
		s.serveDownload(w, r)
	case strings.HasPrefix(p, "/_up/"):
		s.serveUploadURL(w, r)
	case strings.HasPrefix(p, "/api/"):
		s.serveOutlookAPI(w, r)
	case p == "/_sim" || strings.HasPrefix(p, "/_sim/"):
		s.serveAdmin(w, r)
	default:
		s.serveIdentity(w, r)
	}
}

func (s *Server) now() time.Time { return s.clock() }

func (s *Server) newReqCtx(r *http.Request) *reqCtx {
	return &reqCtx{reqID: randomGUID(), clientReqID: r.Header.Get("client-request-id"), now: s.now()}
}

func (s *Server) sign(p []byte) []byte {
	m := hmac.New(sha256.New, s.urlKey)
	m.Write(p)
	return m.Sum(nil)[:16]
}

// statusWriter records the status and size of a response for debug logging.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
