package postgres

// Statement texts exported to the plan tests.
var (
	ClaimSQL    = claimSQL
	CompleteSQL = completeSQL
	RenewSQL    = renewSQL
)

// HooksGuard exposes the fast paths' hooks exclusion to the tests.
var HooksGuard = hooksGuard
