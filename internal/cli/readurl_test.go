package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestServerDatabaseReadURL(t *testing.T) {
	cmd := newServerCmd(Env{}, BuildInfo{})
	vars := map[string]string{"FF_DATABASE_READ_URL": "postgres://replica/ff"}
	require.NoError(t, applyEnv(cmd, func(k string) string { return vars[k] }))
	require.Equal(t, "postgres://replica/ff", cmd.Flags().Lookup("database-read-url").Value.String())

	for _, args := range [][]string{
		{"server", "--database-read-url", "postgres://replica/ff"}, // SQLite default has no replica
		{"server", "--database-url", "postgres://h/ff", "--database-read-url", "replica.db"},
	} {
		_, stderr, code := runMain(t, nil, args...)
		require.Equal(t, exitUsage, code, "%v: %s", args, stderr)
		require.True(t, strings.HasPrefix(stderr, "flowfabric: error: "), "%v: %s", args, stderr)
		require.Contains(t, stderr, "read url")
	}
}
