package workload

import (
	"encoding/json"
	"fmt"
	"time"
)

// Payload is the input of every benchmark job, as JSON {"t":...,"n":...}.
// Both harnesses store exactly this object as the job's input/args.
type Payload struct {
	// T is the client's clock (Unix nanoseconds) read immediately before
	// the insert call: the job's creation, hence ready, time.
	T int64 `json:"t"`
	// N is the job's index in [0, jobs): it identifies the job to the
	// probe so that a repeated start or completion is counted once.
	N int `json:"n"`
}

// Created returns T as a time.
func (p Payload) Created() time.Time { return time.Unix(0, p.T) }

// Encode returns the JSON form.
func (p Payload) Encode() []byte {
	b, _ := json.Marshal(p) // two integers: cannot fail
	return b
}

// DecodePayload parses the JSON form.
func DecodePayload(b []byte) (Payload, error) {
	var p Payload
	if err := json.Unmarshal(b, &p); err != nil {
		return Payload{}, fmt.Errorf("decode bench payload: %w", err)
	}
	return p, nil
}
