package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// serverWatch reads a process's memory and CPU time from /proc, and the
// CPU time of its PostgreSQL: the postmaster that is its child and every
// backend under it (Linux only; a zero pid watches nothing).
type serverWatch struct{ pid int }

func newServerWatch(pid int) serverWatch { return serverWatch{pid} }

// RSS returns VmRSS in KiB (0 when unknown).
func (s serverWatch) RSS() int64 {
	if s.pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// CPUTimes are clock ticks (1/100 s on Linux) of user plus system time.
type CPUTimes struct {
	Self, Postgres int64 // the process; its PostgreSQL processes
	PGProcs        int
	Machine        int64 // every CPU's busy time
}

// Sub returns the time spent between old and c.
func (c CPUTimes) Sub(old CPUTimes) CPUTimes {
	return CPUTimes{Self: c.Self - old.Self, Postgres: c.Postgres - old.Postgres, PGProcs: c.PGProcs, Machine: c.Machine - old.Machine}
}

const ticksPerSecond = 100 // USER_HZ on every Linux that Go runs on

// CPU returns the CPU time of the process and of its descendants'
// PostgreSQL processes now (exited ones are not counted).
func (s serverWatch) CPU() CPUTimes {
	if s.pid <= 0 {
		return CPUTimes{Machine: machineBusy()}
	}
	stats := readAllStats()
	c := CPUTimes{Machine: machineBusy()}
	if st, ok := stats[s.pid]; ok {
		c.Self = st.ticks
	}
	// Descendants of the process named postgres (the postmaster runs as
	// another user but stays our child).
	children := map[int][]int{}
	for pid, st := range stats {
		children[st.ppid] = append(children[st.ppid], pid)
	}
	var walk func(pid int, inPG bool)
	walk = func(pid int, inPG bool) {
		for _, ch := range children[pid] {
			st := stats[ch]
			pg := inPG || st.comm == "postgres"
			if pg {
				c.Postgres += st.ticks
				c.PGProcs++
			}
			walk(ch, pg)
		}
	}
	walk(s.pid, false)
	return c
}

type procStat struct {
	ppid  int
	comm  string
	ticks int64
}

func readAllStats() map[int]procStat {
	out := map[int]procStat{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime(14) stime(15)
		open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(string(b[close+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = procStat{ppid: ppid, comm: string(b[open+1 : close]), ticks: ut + st}
	}
	return out
}

// machineBusy returns the busy time of all CPUs (user, nice, system, irq,
// softirq, steal; not idle or iowait), in clock ticks, from /proc/stat.
func machineBusy() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return busy
}
