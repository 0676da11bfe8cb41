// Package deps pins the module's dependencies while the packages that use
// them are being written, so concurrent work never edits go.mod. It is
// removed once every dependency has a real importer.
package deps

import (
	_ "github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
	_ "go.uber.org/goleak"
	_ "modernc.org/sqlite"
)
