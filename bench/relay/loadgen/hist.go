package main

import "sync/atomic"

// Latency histogram, the same buckets as before in Node: 10 µs buckets to 20 ms, then 1 ms
// buckets to 10 s. Counted with atomic adds from every reader goroutine; the orchestrator merges
// [bucket, count] pairs and computes percentiles (bench/relay/loadgen.ts).
const (
	histFine   = 2000
	histCoarse = 10_000
)

type hist struct {
	b [histFine + histCoarse]atomic.Uint32
}

func histIndex(ms float64) int {
	switch {
	case ms < 0:
		return 0
	case ms < histFine/100:
		return int(ms * 100)
	default:
		return min(histFine+histCoarse-1, histFine+int(ms-histFine/100))
	}
}

func (h *hist) add(ms float64) { h.b[histIndex(ms)].Add(1) }

func (h *hist) reset() {
	for i := range h.b {
		h.b[i].Store(0)
	}
}

// pairs: the non-empty buckets as [index, count].
func (h *hist) pairs() [][2]uint32 {
	out := [][2]uint32{}
	for i := range h.b {
		if n := h.b[i].Load(); n > 0 {
			out = append(out, [2]uint32{uint32(i), n})
		}
	}
	return out
}
