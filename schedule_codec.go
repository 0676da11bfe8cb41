package flowfabric

import (
	"encoding/json"
	"time"
)

// The stored form of a schedule's definition: one JSON document, written
// and read by every store (so a store adds no column per field), and the
// input of the definition hash.

type scheduleSpecJSON struct {
	Cron      string `json:"cron,omitempty"`
	Timezone  string `json:"timezone,omitempty"`
	EveryMs   int64  `json:"every_ms,omitempty"`
	OffsetMs  int64  `json:"offset_ms,omitempty"`
	StartAtMs int64  `json:"start_at_ms,omitempty"`
	EndAtMs   int64  `json:"end_at_ms,omitempty"`
}

type catchUpJSON struct {
	Policy CatchUpPolicy `json:"policy"`
	Max    int           `json:"max,omitempty"`
}

type scheduleTemplateJSON struct {
	Lane         string            `json:"lane"`
	Kind         string            `json:"kind"`
	Input        []byte            `json:"input,omitempty"`
	Priority     int64             `json:"priority,omitempty"`
	Capabilities []string          `json:"capabilities,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	Policy       *ExecutionPolicy  `json:"policy,omitempty"`
}

type scheduleDefinitionJSON struct {
	Spec     scheduleSpecJSON     `json:"spec"`
	CatchUp  catchUpJSON          `json:"catch_up"`
	Template scheduleTemplateJSON `json:"template"`
}

func specJSONOf(s ScheduleSpec) scheduleSpecJSON {
	return scheduleSpecJSON{Cron: s.Cron, Timezone: s.Timezone, EveryMs: s.Every.Milliseconds(),
		OffsetMs: s.Offset.Milliseconds(), StartAtMs: MsFromTime(s.StartAt), EndAtMs: MsFromTime(s.EndAt)}
}

func (j scheduleSpecJSON) spec() ScheduleSpec {
	return ScheduleSpec{Cron: j.Cron, Timezone: j.Timezone, Every: time.Duration(j.EveryMs) * time.Millisecond,
		Offset: time.Duration(j.OffsetMs) * time.Millisecond, StartAt: TimeFromMs(j.StartAtMs), EndAt: TimeFromMs(j.EndAtMs)}
}

func definitionJSONOf(s ScheduleSpec, c CatchUp, t ScheduleTemplate) scheduleDefinitionJSON {
	return scheduleDefinitionJSON{
		Spec: specJSONOf(s), CatchUp: catchUpJSON(c),
		Template: scheduleTemplateJSON{Lane: t.Lane, Kind: t.Kind, Input: t.Input, Priority: t.Priority,
			Capabilities: t.Capabilities, Tags: t.Tags, Policy: t.Policy},
	}
}

// EncodeScheduleDefinition is the stored form of s's spec, catch-up
// policy and template.
func EncodeScheduleDefinition(s *Schedule) ([]byte, error) {
	b, err := json.Marshal(definitionJSONOf(s.Spec, s.CatchUp, s.Template))
	if err != nil {
		return nil, Bug("schedule %s: encode definition: %v", s.ID, err)
	}
	return b, nil
}

// DecodeScheduleDefinition reads a stored definition into s.
func DecodeScheduleDefinition(b []byte, s *Schedule) error {
	var j scheduleDefinitionJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return Corruption("schedule %s: definition: %v", s.ID, err)
	}
	t := j.Template
	s.Spec, s.CatchUp = j.Spec.spec(), CatchUp(j.CatchUp)
	s.Template = ScheduleTemplate{Lane: t.Lane, Kind: t.Kind, Input: t.Input, Priority: t.Priority,
		Capabilities: t.Capabilities, Tags: t.Tags, Policy: t.Policy}
	return nil
}
