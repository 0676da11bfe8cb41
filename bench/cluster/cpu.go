package main

import (
	"context"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// clockTicks is USER_HZ, the unit of /proc CPU times (100 on Linux).
const clockTicks = 100

// procCPU is the CPU time (user + system) of pid in ticks, or -1 when it
// cannot be read (gone, or not Linux).
func procCPU(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	s := string(b)
	// The command name may hold spaces; fields restart after ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

// machineBusy is the busy CPU ticks of the whole machine (all cores) and
// the total ticks, from /proc/stat.
func machineBusy() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseInt(f, 10, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

// cpuMeter sums the CPU used by a set of processes over a window: each
// pid's time at its first sample is subtracted from its last.
type cpuMeter struct {
	first, last map[int]int64
}

func newCPUMeter() *cpuMeter { return &cpuMeter{first: map[int]int64{}, last: map[int]int64{}} }

// sample records pids' CPU now; fresh marks pids born inside the window
// (their first sample is 0).
func (m *cpuMeter) sample(pids []int, fresh bool) {
	for _, pid := range pids {
		v := procCPU(pid)
		if v < 0 {
			continue
		}
		if _, seen := m.first[pid]; !seen {
			if fresh {
				m.first[pid] = 0
			} else {
				m.first[pid] = v
			}
		}
		m.last[pid] = v
	}
}

// seconds is the CPU used in the window.
func (m *cpuMeter) seconds() float64 {
	var t int64
	for pid, l := range m.last {
		t += l - m.first[pid]
	}
	return float64(t) / clockTicks
}

// backendPIDs are the Postgres backends connected to the benchmark's
// database (other databases on the server are not counted).
func backendPIDs(ctx context.Context, pool *pgxpool.Pool) []int {
	rows, err := pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var pid int32
		if rows.Scan(&pid) == nil {
			out = append(out, int(pid))
		}
	}
	return out
}
