package postgres

// Statement texts exported to the plan tests.
const (
	ClaimSQL    = claimSQL
	CompleteSQL = completeSQL
	RenewSQL    = renewSQL
)
