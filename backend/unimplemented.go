package backend

// Unimplemented answers every operation of the later waves with
// Unavailable: it embeds each area's stub. A backend that builds none of
// them may embed it; one that builds some embeds the remaining areas'
// stubs one by one, so that building an area touches neither this file
// nor another area's.
type Unimplemented struct {
	UnimplementedOperator
	UnimplementedFlows
	UnimplementedWaitpoints
	UnimplementedBudgets
	UnimplementedStreams
	UnimplementedEvents
	UnimplementedSchedules
}

// Each stub covers its whole area.
var (
	_ Flows      = UnimplementedFlows{}
	_ Waitpoints = UnimplementedWaitpoints{}
	_ Budgets    = UnimplementedBudgets{}
	_ Streams    = UnimplementedStreams{}
	_ Events     = UnimplementedEvents{}
)
