// Package m365 reaches Microsoft 365 through Microsoft Graph: MSAL
// app-only authentication, an explicit HTTP pipeline (auth, retry honouring
// Retry-After, per-tenant pacing), delta paging, and the per-app readers
// and writers behind graphapi's interfaces.
//
// It is the only package that imports msgraph-sdk-go and MSAL: they take
// minutes to compile, and nothing else should wait for them.
package m365

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"golang.org/x/time/rate"

	"github.com/holdfast/holdfast/internal/graphapi"
)

// Options tune the client. Zero values take the defaults.
type Options struct {
	// RUPerMinute paces OneDrive/SharePoint requests per tenant: 0 uses
	// Microsoft's budget for the smallest tenants (1,200 RU/min), a
	// negative value turns pacing off (the service still throttles).
	RUPerMinute int
	// MailboxRequestsPer10Min paces requests per Exchange mailbox: 0 uses
	// Outlook's budget (10,000 per 10 minutes per app per mailbox), a
	// negative value turns pacing off. Whatever it says, at most 4
	// requests per mailbox are in flight.
	MailboxRequestsPer10Min int
	// MailboxUploadBytesPer5Min paces the request bodies sent to a
	// mailbox: 0 uses Outlook's budget (150 MB per 5 minutes), a negative
	// value turns pacing off.
	MailboxUploadBytesPer5Min int64
	// MailboxWindowScale shortens the windows of both budgets (0 or 1:
	// Outlook's 10 and 5 minutes). Only for running against graphsim's
	// --outlook-window-scale, which shortens the service's the same way.
	MailboxWindowScale float64
	MaxAttempts        int           // per request, 429/5xx retries included
	MaxInlineWait      time.Duration // longest Retry-After slept in-line
	RetryBase          time.Duration // first backoff without Retry-After
	Log                *slog.Logger
}

// Factory hands out one Client per tenant and credential, so the token
// cache and the pacing state are shared by everything a worker does for a
// tenant.
type Factory struct {
	opts    Options
	mu      sync.Mutex
	clients map[string]*Client
}

// NewFactory returns a Factory.
func NewFactory(o Options) *Factory {
	return &Factory{opts: o.withDefaults(), clients: map[string]*Client{}}
}

// withDefaults fills in the zero values.
func (o Options) withDefaults() Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = defaultMaxAttempts
	}
	if o.MaxInlineWait <= 0 {
		o.MaxInlineWait = defaultMaxInlineWait
	}
	if o.RetryBase <= 0 {
		o.RetryBase = defaultRetryBase
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

var _ graphapi.Factory = (*Factory)(nil)

// Client implements graphapi.Factory.
func (f *Factory) Client(ctx context.Context, c graphapi.Conn) (graphapi.Client, error) {
	key := connKey(c)
	f.mu.Lock()
	defer f.mu.Unlock()
	if cl, ok := f.clients[key]; ok {
		return cl, nil
	}
	cl, err := New(c, f.opts)
	if err != nil {
		return nil, err
	}
	f.clients[key] = cl
	return cl, nil
}

// connKey identifies a connection without keeping the credential itself.
func connKey(c graphapi.Conn) string {
	h := sha256.New()
	for _, s := range []string{c.TenantID, c.ClientID, c.Secret, string(c.CertPEM), c.GraphURL, c.AuthorityURL, c.CAFile} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Client talks to one tenant.
type Client struct {
	conn   graphapi.Conn
	base   string // Graph base URL, no trailing slash
	sdk    *msgraphsdk.GraphServiceClient
	http   *http.Client // auth → retry → throttle → transport
	tokens *tokenSource
	log    *slog.Logger

	mailboxes *mailboxLimiter // per-mailbox Outlook limits (also in the pipeline)
	importMu  sync.Mutex
	imports   map[string]importSession // open mailbox import sessions, by mailbox ID
}

// New builds a client for one tenant.
func New(c graphapi.Conn, o Options) (*Client, error) {
	o = o.withDefaults()
	if c.GraphURL == "" {
		c.GraphURL = "https://graph.microsoft.com/v1.0"
	}
	u, err := url.Parse(c.GraphURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("graph URL %q must be an https URL", c.GraphURL)
	}
	transport, err := baseTransport(c.CAFile)
	if err != nil {
		return nil, err
	}
	tokens, err := newTokenSource(c, &http.Client{Transport: transport, Timeout: 60 * time.Second})
	if err != nil {
		return nil, err
	}
	var limiter *rate.Limiter
	if o.RUPerMinute >= 0 {
		ru := o.RUPerMinute
		if ru == 0 {
			ru = SharePointRUPerMinute(0)
		}
		// Burst: ten seconds of budget, so a quiet tenant starts briskly.
		limiter = rate.NewLimiter(rate.Limit(float64(ru)/60), max(ru/6, ruMulti))
	}
	reqBudget, byteBudget := o.MailboxRequestsPer10Min, o.MailboxUploadBytesPer5Min
	if reqBudget == 0 {
		reqBudget = mailboxRequestBudget
	}
	if byteBudget == 0 {
		byteBudget = mailboxUploadBudget
	}
	mailboxes := newMailboxLimiter(reqBudget, byteBudget, realClock{})
	mailboxes.maxInlineWait = o.MaxInlineWait
	if o.MailboxWindowScale > 0 && o.MailboxWindowScale < 1 {
		mailboxes.windowScale = o.MailboxWindowScale
	}
	base := strings.TrimRight(c.GraphURL, "/")
	rt := &authTransport{prefix: base + "/", tokens: tokens,
		next: &retryTransport{maxAttempts: o.MaxAttempts, maxInlineWait: o.MaxInlineWait, base: o.RetryBase, cap: defaultRetryCap,
			next: &throttleTransport{limiter: limiter, mailboxes: mailboxes, next: transport}}}
	hc := &http.Client{Transport: rt}

	// Authentication happens in the pipeline, so kiota gets an anonymous
	// provider and our client as is (no default middleware).
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		&absauth.AnonymousAuthenticationProvider{}, nil, nil, hc)
	if err != nil {
		return nil, err
	}
	adapter.SetBaseUrl(base)
	return &Client{conn: c, base: base, sdk: msgraphsdk.NewGraphServiceClient(adapter), http: hc, tokens: tokens, log: o.Log,
		mailboxes: mailboxes, imports: map[string]importSession{}}, nil
}

// baseTransport is the TLS transport, trusting caFile's certificates in
// addition to the system's.
func baseTransport(caFile string) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.ForceAttemptHTTP2 = true
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return t, nil
}

// Roles returns the application permissions the tenant granted the app
// (the "roles" claim of its token).
func (c *Client) Roles(ctx context.Context) ([]string, error) { return c.tokens.roles(ctx) }
