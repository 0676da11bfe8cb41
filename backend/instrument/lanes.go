package instrument

import "sync"

// OtherLane is the label value of every lane that is not labelled on its
// own: a lane not known to exist (a claim on a lane name nobody created),
// or any lane beyond the cap. The leading underscore, as in "_multi",
// keeps it apart from ordinary lane names.
const OtherLane = "_other"

// DefaultMaxLaneLabels is the default cap on lanes labelled on their own.
const DefaultMaxLaneLabels = 100

// laneLabels bounds the lane label values. A lane gets a label of its own
// once it is known to exist (an execution was created on it, a claim
// handed out a task from it, or ListLanes listed it) and while fewer than
// max lanes have one; a lane, once labelled, stays labelled. Every other
// lane is OtherLane, so the series count never follows the lane names
// clients send.
type laneLabels struct {
	mu    sync.RWMutex
	known map[string]struct{}
	max   int
}

func newLaneLabels(max int) *laneLabels {
	if max <= 0 {
		max = DefaultMaxLaneLabels
	}
	return &laneLabels{known: map[string]struct{}{}, max: max}
}

// label is lane's label value without learning anything: lane if it has
// a label of its own, else OtherLane. Use it for lane names a client
// chose (a claim's lanes, the lane carried in a handle).
func (l *laneLabels) label(lane string) string {
	l.mu.RLock()
	_, ok := l.known[lane]
	l.mu.RUnlock()
	if ok {
		return lane
	}
	return OtherLane
}

// exists records that lane exists and returns its label value: lane
// itself while the cap allows, else OtherLane.
func (l *laneLabels) exists(lane string) string {
	if got := l.label(lane); got != OtherLane {
		return got
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.known[lane]; ok {
		return lane
	}
	if len(l.known) >= l.max {
		return OtherLane
	}
	l.known[lane] = struct{}{}
	return lane
}
