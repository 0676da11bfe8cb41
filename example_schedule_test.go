package flowfabric_test

import (
	"fmt"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// The next ticks of a cron schedule in a zone: 09:00 in Paris on
// weekdays, so 08:00 UTC in winter.
func ExampleScheduleSpec_Next() {
	spec := ff.ScheduleSpec{Cron: "0 9 * * 1-5", Timezone: "Europe/Paris"}
	if err := spec.Validate(); err != nil {
		panic(err)
	}
	from := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC) // a Friday
	for _, tick := range spec.Upcoming(from.UnixMilli(), 3) {
		fmt.Println(time.UnixMilli(tick).UTC().Format(time.RFC3339))
	}
	// Output:
	// 2026-01-05T08:00:00Z
	// 2026-01-06T08:00:00Z
	// 2026-01-07T08:00:00Z
}
