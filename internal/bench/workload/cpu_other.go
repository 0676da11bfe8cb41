//go:build !unix

package workload

import "time"

// processCPU reports 0: the platform's process CPU time is not read.
func processCPU() time.Duration { return 0 }
