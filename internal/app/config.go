// Package app wires Yici together: configuration from the environment
// (flags override), the database (an external one, or the private cluster
// of the data directory), migrations, and the HTTP server of all surfaces.
package app

import (
	"flag"
	"io"

	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
	"yici/internal/clock"
)

// Config is every setting, read from the environment; flags override.
type Config struct {
	DatabaseURL   string        // DATABASE_URL: an external PostgreSQL; else the private cluster of DataDir
	DataDir       string        // YICI_DATA, --data: the private cluster and uploaded files (default ./var)
	Addr          string        // YICI_ADDR, --addr: listen address (default :8080)
	Province      string        // YICI_PROVINCE: province code of the territory (default 33, Zhejiang)
	Demo          bool          // YICI_DEMO: load the demo data into a fresh database (default true)
	LogLevel      string        // YICI_LOG_LEVEL: debug, info, warn, error
	LogFormat     string        // YICI_LOG_FORMAT: text or json
	Origins       string        // YICI_ORIGINS: extra allowed origins, comma-separated
	SecureCookies bool          // YICI_SECURE_COOKIES: mark cookies Secure (behind TLS)
	HolidaysFile  string        // YICI_HOLIDAYS: extra holiday CSV (date,kind,name)
	MaxConns      int           // YICI_DB_MAX_CONNS: database pool size
	PublicURL     string        // YICI_PUBLIC_URL: base URL for links (tracking QR codes)
	ShutdownWait  time.Duration // YICI_SHUTDOWN_WAIT: grace period for requests at shutdown
	WSSendBuffer  int           // YICI_WS_SEND_BUFFER: messages queued per console connection before it catches up from the ring
	WSWriteWait   time.Duration // YICI_WS_WRITE_TIMEOUT: a console connection that cannot take a message this long is dropped
	// Rate limits of the kiosks: requests a minute per kiosk key and per
	// client address (YICI_KIOSK_KEY_RATE, YICI_KIOSK_IP_RATE), bursts a third.
	KioskKeyRate, KioskIPRate int
	// WebRate: web form posts a minute per client address (YICI_WEB_RATE).
	WebRate int
	// TrackRate: public tracking lookups (and ratings) a minute per client
	// address (YICI_TRACK_RATE, default 30, bursts a third, at least 10);
	// raised for load tests that look up from one address.
	TrackRate int
	// PprofAddr, when set, serves net/http/pprof on this separate address
	// (YICI_PPROF_ADDR, e.g. 127.0.0.1:6060): for profiling only, never on
	// a public interface.
	PprofAddr string
	// MetricsToken, when set, is required as Bearer token by /metrics
	// (YICI_METRICS_TOKEN); without it, loopback or a signed-in admin.
	MetricsToken string
	// CTIRequireSignature refuses CTI events without an HMAC signature
	// (YICI_CTI_REQUIRE_SIGNATURE).
	CTIRequireSignature bool
	// SchedulerEvery is how often each node fires due deadline timers
	// (YICI_SCHEDULER_INTERVAL; 0 turns the scheduler off on this node).
	SchedulerEvery time.Duration
	// Clock drives deadlines and timers (tests set a controllable one).
	Clock clock.Clock
	// LogOutput is where logs go (default standard error; tests capture).
	LogOutput io.Writer
	MeiliURL  string // MEILI_URL: Meilisearch for the knowledge base (optional)
	MeiliKey  string // MEILI_KEY: its API key
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envBool(name string, def bool) bool {
	if v, ok := os.LookupEnv(name); ok {
		b, err := strconv.ParseBool(v)
		if err == nil {
			return b
		}
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func envInt(name string, def int) int {
	if v, ok := os.LookupEnv(name); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// FromEnv reads the configuration from the environment.
func FromEnv() Config {
	wait, err := time.ParseDuration(env("YICI_SHUTDOWN_WAIT", "10s"))
	if err != nil {
		wait = 10 * time.Second
	}
	return Config{
		DatabaseURL:         env("DATABASE_URL", ""),
		DataDir:             env("YICI_DATA", "./var"),
		Addr:                env("YICI_ADDR", ":8080"),
		Province:            env("YICI_PROVINCE", "33"),
		Demo:                envBool("YICI_DEMO", true),
		LogLevel:            env("YICI_LOG_LEVEL", "info"),
		LogFormat:           env("YICI_LOG_FORMAT", "text"),
		Origins:             env("YICI_ORIGINS", ""),
		SecureCookies:       envBool("YICI_SECURE_COOKIES", false),
		HolidaysFile:        env("YICI_HOLIDAYS", ""),
		MaxConns:            envInt("YICI_DB_MAX_CONNS", 32),
		PublicURL:           env("YICI_PUBLIC_URL", ""),
		ShutdownWait:        wait,
		WSSendBuffer:        envInt("YICI_WS_SEND_BUFFER", 512),
		WSWriteWait:         envDuration("YICI_WS_WRITE_TIMEOUT", 10*time.Second),
		KioskKeyRate:        envInt("YICI_KIOSK_KEY_RATE", 60),
		KioskIPRate:         envInt("YICI_KIOSK_IP_RATE", 300),
		WebRate:             envInt("YICI_WEB_RATE", 10),
		TrackRate:           envInt("YICI_TRACK_RATE", 30),
		PprofAddr:           env("YICI_PPROF_ADDR", ""),
		CTIRequireSignature: envBool("YICI_CTI_REQUIRE_SIGNATURE", false),
		MetricsToken:        env("YICI_METRICS_TOKEN", ""),
		SchedulerEvery:      envDuration("YICI_SCHEDULER_INTERVAL", time.Second),
		MeiliURL:            env("MEILI_URL", ""),
		MeiliKey:            env("MEILI_KEY", ""),
	}
}

// DBFlags registers the two database settings every command takes.
func (c *Config) DBFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "external PostgreSQL URL (env DATABASE_URL); when empty, the private cluster of --data is used")
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory: private PostgreSQL cluster and uploaded files (env YICI_DATA)")
	fs.StringVar(&c.Province, "province", c.Province, "province code of the territory (env YICI_PROVINCE)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn, error (env YICI_LOG_LEVEL)")
}

// ServeFlags registers the settings of `yici serve`.
func (c *Config) ServeFlags(fs *flag.FlagSet) {
	c.DBFlags(fs)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address HOST:PORT (env YICI_ADDR)")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "load the Zhejiang demo data into a fresh database (env YICI_DEMO)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json (env YICI_LOG_FORMAT)")
	fs.StringVar(&c.Origins, "origins", c.Origins, "extra allowed origins for browsers, comma-separated (env YICI_ORIGINS)")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", c.SecureCookies, "mark cookies Secure, behind TLS (env YICI_SECURE_COOKIES)")
	fs.StringVar(&c.HolidaysFile, "holidays", c.HolidaysFile, "extra holiday CSV date,kind,name (env YICI_HOLIDAYS)")
	fs.IntVar(&c.MaxConns, "db-max-conns", c.MaxConns, "database pool size (env YICI_DB_MAX_CONNS)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "public base URL for links and QR codes (env YICI_PUBLIC_URL)")
	fs.DurationVar(&c.ShutdownWait, "shutdown-wait", c.ShutdownWait, "grace period for requests at shutdown (env YICI_SHUTDOWN_WAIT)")
	fs.IntVar(&c.WSSendBuffer, "ws-send-buffer", c.WSSendBuffer, "messages queued per console connection before it catches up from the ring (env YICI_WS_SEND_BUFFER)")
	fs.DurationVar(&c.WSWriteWait, "ws-write-timeout", c.WSWriteWait, "drop a console connection that cannot take a message this long (env YICI_WS_WRITE_TIMEOUT)")
	fs.IntVar(&c.TrackRate, "track-rate", c.TrackRate, "public tracking lookups a minute per client address (env YICI_TRACK_RATE)")
	fs.StringVar(&c.PprofAddr, "pprof-addr", c.PprofAddr, "serve net/http/pprof on this separate address, e.g. 127.0.0.1:6060; profiling only (env YICI_PPROF_ADDR)")
	fs.StringVar(&c.MeiliURL, "meili-url", c.MeiliURL, "Meilisearch URL for the knowledge base (env MEILI_URL)")
	fs.StringVar(&c.MeiliKey, "meili-key", c.MeiliKey, "Meilisearch API key (env MEILI_KEY)")
}

// OriginList returns the allowed extra origins.
func (c *Config) OriginList() []string {
	var out []string
	for _, o := range strings.Split(c.Origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, strings.TrimRight(o, "/"))
		}
	}
	return out
}

// Logger builds the process logger.
func (c *Config) Logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	out := c.LogOutput
	if out == nil {
		out = os.Stderr
	}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(out, opts))
	}
	return slog.New(slog.NewTextHandler(out, opts))
}

// String describes where the data lives, for logs (no secrets).
func (c *Config) String() string {
	if c.DatabaseURL != "" {
		return "external database"
	}
	return fmt.Sprintf("private cluster in %s", c.DataDir)
}
