package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicksPerSecond is USER_HZ, the unit of the CPU times in
// /proc/PID/stat. Linux fixes it at 100 on every architecture it exposes to
// user space (see proc(5)); reading sysconf(_SC_CLK_TCK) would need cgo.
const clockTicksPerSecond = 100

// processCPUTime returns the user plus system CPU time of process pid, from
// fields 14 and 15 of /proc/PID/stat.
func processCPUTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU time of --server-pid %d: %w", pid, err)
	}
	return parseStatCPU(raw)
}

// parseStatCPU reads utime and stime from the contents of /proc/PID/stat.
// The second field, the command name in parentheses, may itself contain
// spaces and parentheses, so the fields are counted from the last ')'.
func parseStatCPU(raw []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(raw, ')')
	if end < 0 {
		return 0, fmt.Errorf("invalid /proc stat line: no command name")
	}
	// After the command name come field 3 (state) onwards, so utime, the
	// 14th field, is index 11 and stime index 12.
	fields := strings.Fields(string(raw[end+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("invalid /proc stat line: %d fields after the command name, expected at least 13", len(fields))
	}
	utime, err := strconv.ParseInt(fields[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid utime %q in /proc stat line", fields[11])
	}
	stime, err := strconv.ParseInt(fields[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid stime %q in /proc stat line", fields[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicksPerSecond, nil
}

// Idle detection before the baseline: the server counts as idle when it
// used less than idleCPUFraction of one core over idleWindow. After a run
// it may still be sending the queued e-mails of the last orders, and a
// baseline measured meanwhile would share the CPU with it.
const (
	idleWindow      = 250 * time.Millisecond
	idleCPUFraction = 0.05
	idleTimeout     = 30 * time.Second
)

// waitForIdle waits until process pid is idle, or until timeout. It
// returns how long it waited and whether the process became idle.
func waitForIdle(pid int, timeout time.Duration) (time.Duration, bool, error) {
	return waitForIdleCPU(func() (time.Duration, error) { return processCPUTime(pid) }, timeout)
}

// waitForIdleCPU is waitForIdle over a function that reads the process's
// CPU time.
func waitForIdleCPU(cpuTime func() (time.Duration, error), timeout time.Duration) (time.Duration, bool, error) {
	started := time.Now()
	previous, err := cpuTime()
	if err != nil {
		return 0, false, err
	}

	for time.Since(started) < timeout {
		time.Sleep(idleWindow)
		current, err := cpuTime()
		if err != nil {
			return time.Since(started), false, err
		}
		if float64(current-previous) < idleCPUFraction*float64(idleWindow) {
			return time.Since(started), true, nil
		}
		previous = current
	}
	return time.Since(started), false, nil
}

// peakRSS returns the peak resident set size of process pid in bytes, the
// VmHWM line of /proc/PID/status.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read peak memory of --server-pid %d: %w", pid, err)
	}
	defer f.Close()
	return parseVmHWM(f)
}

func parseVmHWM(r io.Reader) (int64, error) {
	scanner := bufio.NewScanner(r)
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), ":")
		if !ok || name != "VmHWM" {
			continue
		}
		// The value is in kB, as in "VmHWM:	   81234 kB".
		kilobytes, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid VmHWM value %q", value)
		}
		return kilobytes * 1024, nil
	}
	if err := scanner.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmHWM line in the process status")
}
