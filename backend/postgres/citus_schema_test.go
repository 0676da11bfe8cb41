package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// The Citus layout of the schema (docs/scaling.md, "Past one primary").
// Every table of the migrated schema is in exactly one of these lists; the
// test below fails on a table in none of them.

// citusPartitionColumn is the distribution column of every distributed
// table: the partition number each row keeps (smallint NOT NULL; one type,
// so all distributed tables are co-located).
const citusPartitionColumn = "partition"

// citusDistributed are the tables sharded by citusPartitionColumn: rows of
// one execution (and later of one flow) live on one shard.
var citusDistributed = []string{"ff_execution", "ff_attempt", "ff_event", "ff_schedule",
	// A flow and its members, edges and cancel bookkeeping share
	// FlowPartition(flow).
	"ff_flow", "ff_flow_member", "ff_flow_edge", "ff_flow_cancel",
	// Waitpoints, suspensions and signals keep their execution's partition.
	"ff_waitpoint", "ff_suspension", "ff_signal",
	// Output streams keep their execution's partition.
	"ff_stream", "ff_stream_frame"}

// citusReference are small, rarely written tables copied to every node.
var citusReference = []string{"ff_lane", "ff_capability_set",
	// The waitpoint HMAC keystore: a few rows, read by every shard.
	"ff_waitpoint_key",
	// Paused lanes: a few rows, read by every claim.
	"ff_lane_state"}

// citusLocal stay on the coordinator only.
var citusLocal = []string{"ff_schema_migrations"}

// citusPending are tables that belong distributed (their rows are one
// execution's, flow's or budget's) but have no partition column yet, each
// with what it needs. They count as classified; the foreign-key rule
// skips them; a pending table that gains the column fails the test until
// it moves to citusDistributed. The list may only shrink.
var citusPending = map[string]string{
	// Budgets and quotas are shared by executions of every partition; as
	// reference tables every usage report would be a write to every node.
	"ff_budget":          "a budget partition (its own key's CRC), or per-shard slices refilled from one row",
	"ff_budget_dim":      "its budget's partition",
	"ff_budget_dedup":    "its budget's partition",
	"ff_quota":           "a quota partition, as ff_budget",
	"ff_quota_admission": "its quota's partition",
	// Per-execution rows keyed by execution id: the execution's partition.
	"ff_quota_slot":      "the execution's partition (the id embeds it)",
	"ff_admission_block": "the execution's partition (the id embeds it)",
}

// citusKnownGaps are the unique indexes (and primary keys) of distributed
// tables that do not yet include the partition column, each with what
// fixes it (docs/scaling.md, "What the schema must change first"). The
// list may only shrink: a new violation fails the test, and so does an
// entry that no longer violates (delete it).
var citusKnownGaps = map[string]string{
	"ff_execution.ff_execution_pkey": "the id embeds its partition, so PRIMARY KEY (id, partition) is the same constraint",
	"ff_execution.ff_execution_idempotency": "(namespace, idempotency_key) is unique across partitions; " +
		"needs the partition of a keyed execution derived from its key",
	"ff_attempt.ff_attempt_pkey": "PRIMARY KEY (execution_id, attempt_index, partition) is the same constraint",
	"ff_event.ff_event_pkey":     "the (xid, id) cursor assumes one transaction-id space; needs a per-shard cursor",

	// Flows: the partition is FlowPartition(flow id), and a member's id
	// embeds it, so adding the column is the same constraint each time.
	"ff_flow.ff_flow_pkey":               "flow id determines the partition: PRIMARY KEY (flow_id, partition)",
	"ff_flow_member.ff_flow_member_pkey": "execution id embeds the partition: PRIMARY KEY (execution_id, partition)",
	"ff_flow_edge.ff_flow_edge_pkey":     "flow id determines the partition: PRIMARY KEY (flow_id, edge_id, partition)",
	"ff_flow_edge.ff_flow_edge_upstream_id_downstream_id_key": "both ends are members of one flow, so of one partition: " +
		"UNIQUE (upstream_id, downstream_id, partition)",
	"ff_flow_cancel.ff_flow_cancel_pkey": "flow id determines the partition: PRIMARY KEY (flow_id, execution_id, partition)",

	// Waitpoints, suspensions, signals live on their execution's partition.
	"ff_waitpoint.ff_waitpoint_open_key": "execution id embeds the partition: UNIQUE (execution_id, waitpoint_key, partition)",
	"ff_waitpoint.ff_waitpoint_pkey": "waitpoint ids must be unique per shard only, or embed their partition " +
		"as execution ids do: PRIMARY KEY (waitpoint_id, partition)",
	"ff_suspension.ff_suspension_pkey":  "as ff_waitpoint_pkey: PRIMARY KEY (suspension_id, partition)",
	"ff_signal.ff_signal_pkey":          "seq comes from one sequence: PRIMARY KEY (seq, partition) is the same constraint",
	"ff_signal.ff_signal_signal_id_key": "as ff_waitpoint_pkey: UNIQUE (signal_id, partition)",
	"ff_signal.ff_signal_idempotency": "a waitpoint's signals share its partition: " +
		"UNIQUE (waitpoint_id, idempotency_key, partition) WHERE idempotency_key <> ''",

	// Output streams: the execution id embeds the partition.
	"ff_stream.ff_stream_pkey":             "PRIMARY KEY (execution_id, attempt_index, partition) is the same constraint",
	"ff_stream_frame.ff_stream_frame_pkey": "PRIMARY KEY (execution_id, attempt_index, frame_id, partition) is the same constraint",
}

// citusKnownFKGaps are the foreign keys that break the rule of
// citusFKAllowed, as table.constraint, each with what fixes it. Like
// citusKnownGaps, the list may only shrink.
var citusKnownFKGaps = map[string]string{
	"ff_flow_member.ff_flow_member_flow_id_fkey": "(flow_id, partition) REFERENCES ff_flow (flow_id, partition), once ff_flow's key has partition",
	"ff_flow_edge.ff_flow_edge_flow_id_fkey":     "(flow_id, partition) REFERENCES ff_flow (flow_id, partition), once ff_flow's key has partition",
	"ff_flow_cancel.ff_flow_cancel_flow_id_fkey": "(flow_id, partition) REFERENCES ff_flow (flow_id, partition), once ff_flow's key has partition",
}

// catalogIndex is one unique index (or primary key) of the schema.
type catalogIndex struct {
	table, name string
	columns     []string // key columns; "" for an expression
}

// catalogFK is one foreign key of the schema.
type catalogFK struct {
	table, name, refTable string
	columns, refColumns   []string
}

func TestCitusLayoutClassifiesEveryTable(t *testing.T) {
	conn := migratedConn(t)
	tables := schemaTables(t, conn)
	require.Empty(t, unclassified(tables), "unclassified tables %v: add each to one list in backend/postgres/citus_schema_test.go — "+
		"citusDistributed if its rows belong to one execution/flow/partition (it then needs a %q smallint NOT NULL column, "+
		"included in its primary key and every unique index), citusReference if it is small, rarely written and read "+
		"from every shard (lanes, capability sets), citusLocal if only the coordinator uses it, or citusPending "+
		"(with the reason) if it belongs distributed but has no partition column yet; "+
		"then say so in docs/scaling.md", unclassified(tables), citusPartitionColumn)
	for tb := range citusClasses(t) {
		require.Contains(t, tables, tb, "%s is classified but not in the schema: remove it from the lists", tb)
	}
}

// TestCitusChecksCatchANewTable adds the kind of table a later migration
// might add and checks that the rules report it.
func TestCitusChecksCatchANewTable(t *testing.T) {
	conn := migratedConn(t)
	_, err := conn.Exec(context.Background(), `CREATE TABLE ff_newthing (
		partition smallint NOT NULL, id text PRIMARY KEY, execution_id text NOT NULL REFERENCES ff_execution (id))`)
	require.NoError(t, err)
	require.Equal(t, []string{"ff_newthing"}, unclassified(schemaTables(t, conn)))
	// Once classified as distributed, its key and its foreign key break the rules.
	distributed := append(slices.Clone(citusDistributed), "ff_newthing")
	require.Contains(t, uniqueViolations(uniqueIndexes(t, conn), distributed), "ff_newthing.ff_newthing_pkey")
	var fkErrs int
	for _, fk := range foreignKeys(t, conn) {
		if fk.table == "ff_newthing" {
			require.Error(t, citusFKAllowedIn(fk, distributed))
			fkErrs++
		}
	}
	require.Equal(t, 1, fkErrs)

	// A table without the column can wait in citusPending: classified,
	// and its foreign keys are its entry's business.
	_, err = conn.Exec(context.Background(), `CREATE TABLE ff_pendingthing (
		id text PRIMARY KEY, execution_id text NOT NULL REFERENCES ff_execution (id))`)
	require.NoError(t, err)
	require.Contains(t, unclassified(schemaTables(t, conn)), "ff_pendingthing")
	citusPending["ff_pendingthing"] = "test"
	t.Cleanup(func() { delete(citusPending, "ff_pendingthing") })
	require.NotContains(t, unclassified(schemaTables(t, conn)), "ff_pendingthing")
	for _, fk := range foreignKeys(t, conn) {
		if fk.table == "ff_pendingthing" {
			require.NoError(t, citusFKAllowed(fk))
		}
	}
}

// unclassified are the tables in no list.
func unclassified(tables []string) []string {
	var out []string
	for _, tb := range tables {
		if citusClassOf(tb) == "unclassified" {
			out = append(out, tb)
		}
	}
	return out
}

// uniqueViolations are the unique indexes of distributed tables that lack
// the partition column, as table.index.
func uniqueViolations(ixs []catalogIndex, distributed []string) []string {
	var out []string
	for _, ix := range ixs {
		if slices.Contains(distributed, ix.table) && !slices.Contains(ix.columns, citusPartitionColumn) {
			out = append(out, ix.table+"."+ix.name)
		}
	}
	return out
}

func TestCitusDistributedTablesCarryThePartition(t *testing.T) {
	conn := migratedConn(t)
	for tb := range citusPending {
		var has bool
		require.NoError(t, conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_attribute
			WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped)`, tb, citusPartitionColumn).Scan(&has))
		require.False(t, has, "%s now has %q: move it from citusPending to citusDistributed", tb, citusPartitionColumn)
	}
	for _, tb := range citusDistributed {
		var typ string
		var notNull bool
		err := conn.QueryRow(context.Background(), `SELECT format_type(a.atttypid, a.atttypmod), a.attnotnull
			FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped`,
			tb, citusPartitionColumn).Scan(&typ, &notNull)
		require.NoError(t, err, "distributed table %s has no %q column", tb, citusPartitionColumn)
		require.Equal(t, "smallint", typ, "%s.%s: co-location needs one type", tb, citusPartitionColumn)
		require.True(t, notNull, "%s.%s must be NOT NULL", tb, citusPartitionColumn)
	}
}

func TestCitusUniqueIndexesIncludeThePartition(t *testing.T) {
	conn := migratedConn(t)
	ixs := uniqueIndexes(t, conn)
	found := uniqueViolations(ixs, citusDistributed)
	for _, key := range found {
		_, known := citusKnownGaps[key]
		require.True(t, known, "unique index %s of a distributed table does not include %q: "+
			"Citus can only enforce uniqueness within a shard. Add the column to the index "+
			"(when the row's partition is derived from the unique columns this is the same constraint)",
			key, citusPartitionColumn)
	}
	for key := range citusKnownGaps {
		require.Contains(t, found, key, "%s now includes the partition (or is gone): delete it from citusKnownGaps "+
			"and from docs/scaling.md", key)
	}
}

func TestCitusForeignKeysStayOnOneShard(t *testing.T) {
	conn := migratedConn(t)
	var found []string
	for _, fk := range foreignKeys(t, conn) {
		err := citusFKAllowed(fk)
		if err == nil {
			continue
		}
		key := fk.table + "." + fk.name
		found = append(found, key)
		_, known := citusKnownFKGaps[key]
		require.True(t, known, "foreign key %s: %v (include %q on both sides, or drop the key and keep the rule in code)",
			key, err, citusPartitionColumn)
	}
	for key := range citusKnownFKGaps {
		require.Contains(t, found, key, "%s no longer breaks the rule (or is gone): delete it from citusKnownFKGaps", key)
	}
}

// citusFKAllowed is Citus's rule: a distributed table may reference a
// reference table, or a distributed table through the partition column
// on both sides (the rows are then on one shard); a reference table only
// references reference tables; local tables reference nothing.
func citusFKAllowed(fk catalogFK) error { return citusFKAllowedIn(fk, citusDistributed) }

// citusFKAllowedIn is citusFKAllowed with distributed as the distributed tables.
func citusFKAllowedIn(fk catalogFK, distributed []string) error {
	class := func(tb string) string {
		if slices.Contains(distributed, tb) {
			return "distributed"
		}
		return citusClassOf(tb)
	}
	from, to := class(fk.table), class(fk.refTable)
	switch {
	case from == "pending" || to == "pending":
		return nil // its citusPending entry stands for the gap
	case to == "reference" && from != "local":
		return nil
	case from == "distributed" && to == "distributed":
		i := slices.Index(fk.columns, citusPartitionColumn)
		if i >= 0 && fk.refColumns[i] == citusPartitionColumn {
			return nil
		}
		return fmt.Errorf("%s → %s crosses shards: both sides must include %q at the same position",
			fk.table, fk.refTable, citusPartitionColumn)
	}
	return fmt.Errorf("%s (%s) → %s (%s) is not allowed on Citus", fk.table, from, fk.refTable, to)
}

func TestCitusFKRule(t *testing.T) {
	ok := []catalogFK{
		{table: "ff_execution", refTable: "ff_capability_set", columns: []string{"cap_sig"}, refColumns: []string{"id"}},
		{table: "ff_attempt", refTable: "ff_execution", columns: []string{"execution_id", "partition"},
			refColumns: []string{"id", "partition"}},
	}
	bad := []catalogFK{
		{table: "ff_attempt", refTable: "ff_execution", columns: []string{"execution_id"}, refColumns: []string{"id"}},
		{table: "ff_attempt", refTable: "ff_execution", columns: []string{"partition"}, refColumns: []string{"priority"}},
		{table: "ff_lane", refTable: "ff_execution", columns: []string{"name"}, refColumns: []string{"id"}},
		{table: "ff_schema_migrations", refTable: "ff_lane", columns: []string{"name"}, refColumns: []string{"name"}},
	}
	for _, fk := range ok {
		require.NoError(t, citusFKAllowed(fk), "%+v", fk)
	}
	for _, fk := range bad {
		require.Error(t, citusFKAllowed(fk), "%+v", fk)
	}
}

func citusClassOf(table string) string {
	switch {
	case slices.Contains(citusDistributed, table):
		return "distributed"
	case slices.Contains(citusReference, table):
		return "reference"
	case slices.Contains(citusLocal, table):
		return "local"
	}
	if _, ok := citusPending[table]; ok {
		return "pending"
	}
	return "unclassified"
}

// citusClasses maps each classified table to its class, failing on a table
// listed twice.
func citusClasses(t *testing.T) map[string]string {
	out := map[string]string{}
	pending := slices.Sorted(maps.Keys(citusPending))
	for class, list := range map[string][]string{"distributed": citusDistributed, "reference": citusReference,
		"local": citusLocal, "pending": pending} {
		for _, tb := range list {
			require.NotContains(t, out, tb, "%s is classified twice", tb)
			out[tb] = class
		}
	}
	return out
}

// migratedConn is a connection to a fresh schema at the latest version.
func migratedConn(t *testing.T) *pgx.Conn {
	t.Helper()
	url := pgtest.Schema(t)
	ctx := context.Background()
	_, err := postgres.MigrateURL(ctx, url)
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// schemaTables lists the ordinary and partitioned tables of the schema
// (not partitions of them: those follow their parent).
func schemaTables(t *testing.T, conn *pgx.Conn) []string {
	rows, err := conn.Query(context.Background(), `SELECT c.relname FROM pg_class c
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	sort.Strings(out)
	require.NotEmpty(t, out)
	return out
}

func uniqueIndexes(t *testing.T, conn *pgx.Conn) []catalogIndex {
	rows, err := conn.Query(context.Background(), `SELECT t.relname, i.relname,
			array(SELECT coalesce(a.attname, '') FROM unnest(x.indkey[0:x.indnkeyatts-1]) WITH ORDINALITY AS k(n, o)
				LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n ORDER BY k.o)
		FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
		WHERE t.relnamespace = current_schema()::regnamespace AND x.indisunique`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalogIndex, error) {
		var ix catalogIndex
		return ix, r.Scan(&ix.table, &ix.name, &ix.columns)
	})
	require.NoError(t, err)
	require.NotEmpty(t, out)
	return out
}

func foreignKeys(t *testing.T, conn *pgx.Conn) []catalogFK {
	rows, err := conn.Query(context.Background(), `SELECT c.conrelid::regclass::text, c.conname, c.confrelid::regclass::text,
			array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(n, o)
				JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o),
			array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(n, o)
				JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)
		FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalogFK, error) {
		var fk catalogFK
		return fk, r.Scan(&fk.table, &fk.name, &fk.refTable, &fk.columns, &fk.refColumns)
	})
	require.NoError(t, err)
	require.NotEmpty(t, out, "the schema has a foreign key (ff_execution.cap_sig); none found means the query is wrong")
	return out
}
