package backend

// Capabilities is a static description of what a backend can do, read once
// at startup. A true flag only means the operation can be called.
type Capabilities struct {
	Family   string
	Version  string
	Supports Supports
}

// Supports has one flag per operator-visible feature.
type Supports struct {
	CreateExecution     bool
	Claim               bool
	ClaimBatch          bool
	Renew               bool
	Progress            bool
	Complete            bool
	Fail                bool
	Cancel              bool
	Delay               bool
	CancelExecution     bool
	ChangePriority      bool
	ReplayExecution     bool
	RevokeLease         bool
	DescribeExecution   bool
	ReadExecutionState  bool
	GetExecutionResult  bool
	ListExecutions      bool
	ListLanes           bool
	Flows               bool
	Waitpoints          bool
	BudgetAdmin         bool
	QuotaAdmin          bool
	Streams             bool
	SubscribeCompletion bool
	// Events: the general outbox reader (ReadEvents) and its retention
	// sweep; LaneControl: pausing and resuming lanes.
	Events         bool
	LaneControl    bool
	LeaderElection bool
	Schedules      bool
}

// CoreSupports is the flag set of a backend that implements the execution
// lifecycle of the first wave, with its completion outbox
// (SubscribeCompletion: ReadCompletions), and nothing later.
func CoreSupports() Supports {
	return Supports{
		CreateExecution: true, Claim: true, ClaimBatch: true, Renew: true, Progress: true,
		Complete: true, Fail: true, Cancel: true, Delay: true, CancelExecution: true,
		DescribeExecution: true, ReadExecutionState: true, GetExecutionResult: true,
		ListExecutions: true, ListLanes: true, SubscribeCompletion: true, LeaderElection: true,
	}
}
