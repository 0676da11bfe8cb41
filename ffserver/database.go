package ffserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/clock"
)

// DefaultSQLitePath is the embedded database used when no database is
// configured: a file in the working directory, created on first start.
const DefaultSQLitePath = "./flowfabric.db"

// Backend kinds a database URL selects.
const (
	KindPostgres = "postgres"
	KindSQLite   = "sqlite"
)

// Database is a parsed database URL: which store, and where.
type Database struct {
	Kind string // KindPostgres or KindSQLite
	// URL is the Postgres connection URL (Kind postgres).
	URL string
	// Path is the SQLite file path (Kind sqlite).
	Path string
	// Default is true when nothing was configured and the embedded
	// default file is used.
	Default bool
}

// ParseDatabaseURL selects the store from a database URL:
// postgres:// or postgresql:// selects Postgres; sqlite://path or a plain
// file path selects SQLite; an empty string selects ./flowfabric.db.
// Any other URL scheme is refused rather than mistaken for a file name.
// Errors match ff.ErrInvalidInput (errors.Is) and never echo a password.
func ParseDatabaseURL(raw string) (Database, error) {
	raw = strings.TrimSpace(raw)
	lower := strings.ToLower(raw)
	switch {
	case raw == "":
		return Database{Kind: KindSQLite, Path: DefaultSQLitePath, Default: true}, nil
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return Database{}, invalidf("database url: cannot parse the Postgres URL: %v", redactErr(err, raw))
		}
		return Database{Kind: KindPostgres, URL: raw}, nil
	case strings.HasPrefix(lower, "sqlite://"):
		p := raw[len("sqlite://"):]
		if p == "" {
			return Database{}, invalidf("database url %q: sqlite:// needs a file path, e.g. sqlite://./flowfabric.db or sqlite:///var/lib/flowfabric.db", raw)
		}
		return Database{Kind: KindSQLite, Path: p}, nil
	}
	if i := strings.Index(raw, "://"); i > 0 && !strings.ContainsAny(raw[:i], `/\.`) {
		return Database{}, invalidf("database url: unsupported scheme %q (use postgres://..., sqlite://path or a file path)", raw[:i])
	}
	return Database{Kind: KindSQLite, Path: raw}, nil
}

// Where describes the database for logs, with any password redacted.
func (d Database) Where() string {
	if d.Kind == KindSQLite {
		return d.Path
	}
	return RedactURL(d.URL)
}

// RedactURL hides the password of a connection URL, in the user info and
// in a password query parameter.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable url>"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// redactErr keeps a URL parse error from echoing the password back.
func redactErr(err error, raw string) string {
	msg := err.Error()
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}

// OpenOptions tune Database.Open.
type OpenOptions struct {
	// Migrate says whether pending migrations are applied (see
	// MigrateMode).
	Migrate MigrateMode
	// Logger receives the store's messages; nil is slog.Default().
	Logger *slog.Logger
	// Clock is the store's time source; nil is real time.
	Clock clock.Clock
	// PostgresMaxConns sizes a Postgres pool (0: pgx's default, at least
	// 4); SQLite ignores it.
	PostgresMaxConns int32
	// PostgresReadURL is a read replica for lag-tolerant reads (see
	// Config.DatabaseReadURL); SQLite refuses it.
	PostgresReadURL string
}

// Open opens the selected store. A schema that is not at this build's
// version (and is not migrated by o.Migrate) is refused with an error
// naming the fix (`flowfabric migrate up`).
func (d Database) Open(ctx context.Context, o OpenOptions) (backend.Backend, error) {
	migrate := o.Migrate.applies(d.Kind)
	switch d.Kind {
	case KindPostgres:
		pg, err := postgres.Open(ctx, postgres.Options{URL: d.URL, Clock: o.Clock, AutoMigrate: migrate,
			MaxConns: o.PostgresMaxConns, Logger: o.Logger, ReadURL: o.PostgresReadURL})
		if err != nil {
			return nil, fmt.Errorf("open postgres %s: %w", d.Where(), err)
		}
		return pg, nil
	case KindSQLite:
		if o.PostgresReadURL != "" {
			return nil, invalidf("database read url: only a Postgres database has read replicas")
		}
		lite, err := sqlite.Open(ctx, sqlite.Options{Path: d.Path, Clock: o.Clock, AutoMigrate: migrate, Logger: o.Logger})
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", d.Where(), err)
		}
		return lite, nil
	}
	return nil, invalidf("unknown store kind %q", d.Kind)
}
