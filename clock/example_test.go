package clock_test

import (
	"fmt"
	"time"

	"github.com/flowfabric-go/flowfabric/clock"
)

// A Fake clock stands still until the test moves it: a store given this
// clock sees a 30 s lease expire after Advance(31 * time.Second), with no
// waiting.
func ExampleFake() {
	c := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	leaseExpires := c.Now().Add(30 * time.Second)

	c.Advance(31 * time.Second)
	fmt.Println(c.Now().Format(time.RFC3339), "expired:", c.Now().After(leaseExpires))

	c.Set(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	fmt.Println(c.Now().Format(time.RFC3339))
	// Output:
	// 2026-01-01T00:00:31Z expired: true
	// 2026-06-01T12:00:00Z
}

// Real is the clock every store uses when none is given.
func ExampleReal() {
	var c clock.Clock = clock.Real{}
	fmt.Println(time.Since(c.Now()) < time.Minute)
	// Output: true
}
