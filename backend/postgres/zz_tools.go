package postgres

// Statement texts for local tooling.
const (
	CompleteSQLForTools = completeSQL
	ClaimSQLForTools    = claimSQL
)
