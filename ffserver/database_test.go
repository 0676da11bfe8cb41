package ffserver

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
)

func TestParseDatabaseURL(t *testing.T) {
	cases := []struct {
		in         string
		kind, path string
		url        string
		def        bool
	}{
		{in: "", kind: KindSQLite, path: "./flowfabric.db", def: true},
		{in: "  ", kind: KindSQLite, path: "./flowfabric.db", def: true},
		{in: "postgres://u:p@h:5432/db?sslmode=disable", kind: KindPostgres, url: "postgres://u:p@h:5432/db?sslmode=disable"},
		{in: "postgresql://h/db", kind: KindPostgres, url: "postgresql://h/db"},
		{in: "POSTGRES://h/db", kind: KindPostgres, url: "POSTGRES://h/db"},
		{in: "sqlite://data/ff.db", kind: KindSQLite, path: "data/ff.db"},
		{in: "sqlite:///var/lib/ff.db", kind: KindSQLite, path: "/var/lib/ff.db"},
		{in: "ff.db", kind: KindSQLite, path: "ff.db"},
		{in: "/tmp/x/ff.db", kind: KindSQLite, path: "/tmp/x/ff.db"},
		{in: "./dir.v2/a://b.db", kind: KindSQLite, path: "./dir.v2/a://b.db"},
	}
	for _, c := range cases {
		db, err := ParseDatabaseURL(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, Database{Kind: c.kind, URL: c.url, Path: c.path, Default: c.def}, db, c.in)
	}
	for _, bad := range []string{"mysql://h/db", "sqlite://", "redis://x"} {
		_, err := ParseDatabaseURL(bad)
		require.ErrorIs(t, err, ff.ErrInvalidInput, bad)
	}
}

func TestWhereRedactsPasswords(t *testing.T) {
	db, err := ParseDatabaseURL("postgres://ff:hunter2@db:5432/ff?sslmode=disable")
	require.NoError(t, err)
	require.NotContains(t, db.Where(), "hunter2")
	require.Contains(t, db.Where(), "ff:xxxxx@db:5432/ff")

	db, err = ParseDatabaseURL("postgres://db/ff?user=ff&password=hunter2")
	require.NoError(t, err)
	require.NotContains(t, db.Where(), "hunter2")

	db, err = ParseDatabaseURL("/srv/ff.db")
	require.NoError(t, err)
	require.Equal(t, "/srv/ff.db", db.Where())
}
