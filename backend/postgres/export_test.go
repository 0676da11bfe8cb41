package postgres

// Statement texts exported to the plan tests.
const ClaimSQL = claimSQL

var (
	CompleteSQL = completeSQL
	RenewSQL    = renewSQL
)

// HooksGuard exposes the fast paths' hooks exclusion to the tests.
var HooksGuard = hooksGuard
