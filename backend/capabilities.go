package backend

// Capabilities is a static description of what a backend can do, read once
// at startup. A true flag only means the operation can be called.
type Capabilities struct {
	Family   string   `json:"family"`
	Version  string   `json:"version"`
	Supports Supports `json:"supports"`
}

// Supports has one flag per operator-visible feature.
type Supports struct {
	CreateExecution     bool `json:"create_execution"`
	Claim               bool `json:"claim"`
	ClaimBatch          bool `json:"claim_batch"`
	Renew               bool `json:"renew"`
	Progress            bool `json:"progress"`
	Complete            bool `json:"complete"`
	Fail                bool `json:"fail"`
	Cancel              bool `json:"cancel"`
	Delay               bool `json:"delay"`
	CancelExecution     bool `json:"cancel_execution"`
	ChangePriority      bool `json:"change_priority"`
	ReplayExecution     bool `json:"replay_execution"`
	RevokeLease         bool `json:"revoke_lease"`
	DescribeExecution   bool `json:"describe_execution"`
	ReadExecutionState  bool `json:"read_execution_state"`
	GetExecutionResult  bool `json:"get_execution_result"`
	ListExecutions      bool `json:"list_executions"`
	ListLanes           bool `json:"list_lanes"`
	Flows               bool `json:"flows"`
	Waitpoints          bool `json:"waitpoints"`
	BudgetAdmin         bool `json:"budget_admin"`
	QuotaAdmin          bool `json:"quota_admin"`
	Streams             bool `json:"streams"`
	SubscribeCompletion bool `json:"subscribe_completion"`
	LeaderElection      bool `json:"leader_election"`
}

// CoreSupports is the flag set of a backend that implements the execution
// lifecycle of the first wave and nothing later.
func CoreSupports() Supports {
	return Supports{
		CreateExecution: true, Claim: true, ClaimBatch: true, Renew: true, Progress: true,
		Complete: true, Fail: true, Cancel: true, Delay: true, CancelExecution: true,
		DescribeExecution: true, ReadExecutionState: true, GetExecutionResult: true,
		ListExecutions: true, ListLanes: true, LeaderElection: true,
	}
}
