package server

import (
	"fmt"
	"reflect"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// The constraints of the schedule routes, merged into the tables of
// constraints.go.
func init() {
	pathParams["schedule_id"] = map[string]any{"description": "schedule id, percent-encoded",
		"schema": map[string]any{"type": "string", "minLength": 1, "maxLength": ff.MaxScheduleIDBytes, "pattern": identPattern}}
	create := fieldRules[reflect.TypeFor[wire.CreateExecutionRequest]()]
	fieldRules[reflect.TypeFor[wire.ScheduleRequest]()] = map[string]rule{
		"schedule_id": kw("minLength", 1, "maxLength", ff.MaxScheduleIDBytes, "pattern", identPattern,
			"description", "required by POST; PUT takes the path's; "+bytesNote(ff.MaxScheduleIDBytes)+", no whitespace or control character"),
		"namespace": create["namespace"],
		"cron": kw("description", "five fields (minute hour day-of-month month day-of-week) or @yearly, @monthly, @weekly, @daily, @midnight, @hourly; "+
			"set cron or every_ms, not both"),
		"timezone": kw("description", "IANA zone cron is read in (absent: UTC); a fixed-hour spec fires once on a fall-back night"),
		"every_ms": kw("minimum", ff.MinScheduleEvery.Milliseconds(), "maximum", ff.MaxScheduleEvery.Milliseconds(),
			"description", "fixed interval: ticks at Unix epoch + offset_ms + k·every_ms"),
		"offset_ms":   kw("minimum", 0, "description", "every_ms only: shift of the ticks, below every_ms"),
		"start_at_ms": instantRule("Unix ms of the earliest tick"),
		"end_at_ms":   instantRule("Unix ms of the latest tick (inclusive)"),
	}
	fieldRules[reflect.TypeFor[wire.CatchUp]()] = map[string]rule{
		"policy": kw("enum", []string{string(ff.CatchUpSkip), string(ff.CatchUpAll)},
			"description", "skip: late ticks (more than the server's grace behind) are dropped; catch_up: the max most recent fire"),
		"max": kw("minimum", 0, "maximum", ff.MaxCatchUp, "description", "catch_up only; absent means 1"),
	}
	fieldRules[reflect.TypeFor[wire.ScheduleExecution]()] = map[string]rule{
		"kind": create["kind"], "lane": create["lane"], "priority": create["priority"],
		"required_capabilities": create["required_capabilities"], "input": create["input"], "input_base64": create["input_base64"],
		"policy": create["policy"],
		"tags": kw("maxProperties", ff.MaxTags-2, "propertyNames", map[string]any{"pattern": tagKeyPattern, "maxLength": ff.MaxTagBytes},
			"additionalProperties", map[string]any{"type": "string", "pattern": keyPattern},
			"description", fmt.Sprintf("copied to every tick with ff.schedule and ff.tick_ms added (the ff. prefix is reserved); at most %d entries", ff.MaxTags-2)),
	}
	fieldRules[reflect.TypeFor[wire.PauseScheduleRequest]()] = map[string]rule{
		"reason": kw("description", fmt.Sprintf("free text, stored cut at %d bytes on a character boundary", ff.MaxReasonBytes)),
	}
}
