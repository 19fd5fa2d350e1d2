// Package config is Holdfast's one configuration: defaults, then
// environment variables (HOLDFAST_*), then command-line flags. URLs select
// the backends: the catalog database, the blob store, the KEK keeper.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Config is everything a worker or the CLI needs.
type Config struct {
	Home              string // state directory for the embedded defaults
	TemporalAddress   string
	TemporalNamespace string
	DatabaseURL       string // sqlite:PATH or postgres://…
	BlobURL           string // file://…, mem://, s3://…, azblob://…, gs://…
	KeeperURL         string // base64key://…, azurekeyvault://…, awskms://…, gcpkms://…, hashivault://…
	GraphRUPerMinute  int    // OneDrive/SharePoint pacing per tenant; 0 = Microsoft's smallest budget, <0 = off
	// MailboxRequestsPer10Min paces requests per Exchange mailbox; 0 =
	// Outlook's budget (10,000 per 10 minutes), <0 = off.
	MailboxRequestsPer10Min int
	// MailboxWindowScale shortens the windows of the mailbox budgets, to
	// match graphsim's --outlook-window-scale in tests; 0 = Outlook's.
	MailboxWindowScale float64
	Actor              string // the admin on whose behalf the CLI acts (audit log)
	LogLevel           string
}

// vars maps each setting to its environment variable and flag.
var vars = []struct {
	env, flag, usage string
	get              func(*Config) *string
}{
	{"HOLDFAST_HOME", "home", "state directory for the embedded defaults", func(c *Config) *string { return &c.Home }},
	{"HOLDFAST_TEMPORAL_ADDRESS", "temporal-address", "Temporal frontend host:port", func(c *Config) *string { return &c.TemporalAddress }},
	{"HOLDFAST_TEMPORAL_NAMESPACE", "temporal-namespace", "Temporal namespace", func(c *Config) *string { return &c.TemporalNamespace }},
	{"HOLDFAST_DB", "db", "catalog database URL (sqlite:PATH or postgres://…)", func(c *Config) *string { return &c.DatabaseURL }},
	{"HOLDFAST_BLOB", "blob", "blob store URL for the vault (file://, s3://, azblob://, gs://, mem://)", func(c *Config) *string { return &c.BlobURL }},
	{"HOLDFAST_KEEPER_URL", "keeper", "key-encryption key (gocloud.dev/secrets URL) that wraps tenant keys", func(c *Config) *string { return &c.KeeperURL }},
	{"HOLDFAST_ACTOR", "actor", "admin name recorded in the audit log", func(c *Config) *string { return &c.Actor }},
	{"HOLDFAST_LOG_LEVEL", "log-level", "debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }},
}

// Flags registers the settings as flags on fs.
func Flags(fs *pflag.FlagSet) {
	for _, v := range vars {
		fs.String(v.flag, "", fmt.Sprintf("%s (env %s)", v.usage, v.env))
	}
	for _, v := range intVars {
		fs.Int(v.flag, 0, fmt.Sprintf("%s (env %s)", v.usage, v.env))
	}
}

// windowScale reads HOLDFAST_MAILBOX_WINDOW_SCALE (tests and benchmarks only).
func windowScale(c *Config) error {
	s := os.Getenv("HOLDFAST_MAILBOX_WINDOW_SCALE")
	if s == "" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f > 1 {
		return fmt.Errorf("HOLDFAST_MAILBOX_WINDOW_SCALE: %q is not a number in (0, 1]", s)
	}
	c.MailboxWindowScale = f
	return nil
}

// intVars are the whole-number settings.
var intVars = []struct {
	env, flag, usage string
	get              func(*Config) *int
}{
	{"HOLDFAST_GRAPH_RU_PER_MINUTE", "graph-ru-per-minute",
		"OneDrive/SharePoint resource units per minute per tenant; 0 = Microsoft's smallest budget, -1 = no pacing",
		func(c *Config) *int { return &c.GraphRUPerMinute }},
	{"HOLDFAST_MAILBOX_REQUESTS_PER_10MIN", "mailbox-requests-per-10min",
		"Exchange requests per mailbox per 10 minutes; 0 = Outlook's budget (10,000), -1 = no pacing",
		func(c *Config) *int { return &c.MailboxRequestsPer10Min }},
}

// Load builds the configuration from defaults, the environment and fs
// (which may be nil).
func Load(fs *pflag.FlagSet) (Config, error) {
	var c Config
	for _, v := range vars {
		p := v.get(&c)
		*p = os.Getenv(v.env)
		if fs != nil {
			if f := fs.Lookup(v.flag); f != nil && f.Changed {
				*p = f.Value.String()
			}
		}
	}
	for _, v := range intVars {
		p := v.get(&c)
		if s := os.Getenv(v.env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return c, fmt.Errorf("%s: %q is not a whole number", v.env, s)
			}
			*p = n
		}
		if fs != nil {
			if f := fs.Lookup(v.flag); f != nil && f.Changed {
				*p, _ = strconv.Atoi(f.Value.String())
			}
		}
	}
	if err := windowScale(&c); err != nil {
		return c, err
	}
	return c, c.defaults()
}

func (c *Config) defaults() error {
	if c.Home == "" {
		c.Home = ".holdfast"
	}
	home, err := filepath.Abs(c.Home)
	if err != nil {
		return err
	}
	c.Home = home
	if c.TemporalAddress == "" {
		c.TemporalAddress = or(os.Getenv("TEMPORAL_ADDRESS"), "127.0.0.1:7233")
	}
	if c.TemporalNamespace == "" {
		c.TemporalNamespace = or(os.Getenv("TEMPORAL_NAMESPACE"), "default")
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:" + filepath.Join(c.Home, "catalog.db")
	}
	if c.BlobURL == "" {
		// No sidecar metadata: packs need none, and fileblob would hash
		// every byte with MD5 to fill it.
		c.BlobURL = (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(c.Home, "vault")), RawQuery: "create_dir=true&metadata=skip"}).String()
	}
	if c.Actor == "" {
		if u, err := user.Current(); err == nil {
			c.Actor = u.Username
		}
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if _, err := url.Parse(c.BlobURL); err != nil || !strings.Contains(c.BlobURL, "://") {
		return fmt.Errorf("blob URL %q is not a URL (want file://, s3://, azblob://, gs:// or mem://)", c.BlobURL)
	}
	return nil
}

// NeedsHome says whether the embedded defaults keep state in Home.
func (c Config) NeedsHome() bool {
	return strings.HasPrefix(c.DatabaseURL, "sqlite:") || strings.HasPrefix(c.BlobURL, "file://")
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Logger returns the process's structured logger at the configured level.
func Logger(c Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// EnvNames lists the environment variables Load reads.
func EnvNames() []string {
	names := []string{"HOLDFAST_GRAPH_RU_PER_MINUTE", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"}
	for _, v := range vars {
		names = append(names, v.env)
	}
	return names
}
