package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func TestRandomLossRateMatchesProfile(t *testing.T) {
	m := NewImpairment(Direction{LossPct: 5}, 7, 1)
	lost := 0
	const n = 200_000
	for i := 0; i < n; i++ {
		if _, v := m.Decide(t0.Add(time.Duration(i)*time.Millisecond), 100); v == DropLoss {
			lost++
		}
	}
	// Binomial sd at n=200000, p=0.05: 97 packets; 5 sd is 0.24 points.
	if rate := float64(lost) / n * 100; math.Abs(rate-5) > 0.25 {
		t.Fatalf("loss %.3f %%, want 5 ± 0.25", rate)
	}
}

// burstStats returns the loss rate (%) and the mean length of runs of consecutive losses.
func burstStats(m *Impairment, n int) (float64, float64) {
	lost, runs, inRun := 0, 0, false
	for i := 0; i < n; i++ {
		_, v := m.Decide(t0.Add(time.Duration(i)*time.Millisecond), 100)
		if v == DropLoss {
			lost++
			if !inRun {
				runs++
			}
			inRun = true
		} else {
			inRun = false
		}
	}
	return float64(lost) / float64(n) * 100, float64(lost) / float64(runs)
}

func TestGilbertElliottLosesInBurstsOfTheModelsLength(t *testing.T) {
	// Stationary Bad share: pGB / (pGB + pBG) = 0.01 / 0.26 = 3.85 %; a Bad spell lasts 1/pBG = 4 packets.
	ge := NewImpairment(Direction{Burst: &Burst{PGoodToBad: 0.01, PBadToGood: 0.25, LossInBadPct: 100}}, 3, 1)
	rate, meanRun := burstStats(ge, 400_000)
	if math.Abs(rate-3.85) > 0.3 {
		t.Fatalf("GE loss %.2f %%, want 3.85 ± 0.3", rate)
	}
	if math.Abs(meanRun-4) > 0.3 {
		t.Fatalf("GE mean burst %.2f packets, want 4 ± 0.3", meanRun)
	}
	// The same rate at random comes in runs of about 1/(1-p) = 1.04.
	_, randomRun := burstStats(NewImpairment(Direction{LossPct: 3.85}, 3, 1), 400_000)
	if randomRun > 1.1 {
		t.Fatalf("random loss mean run %.2f, want ~1.04", randomRun)
	}
}

func TestSameSeedSameDrops(t *testing.T) {
	d := Direction{LossPct: 10, JitterMs: 5, DelayMs: 20, Burst: &Burst{PGoodToBad: 0.05, PBadToGood: 0.3, LossInBadPct: 80}}
	a, b := NewImpairment(d, 42, 1), NewImpairment(d, 42, 1)
	for i := 0; i < 10_000; i++ {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		ta, va := a.Decide(now, 500)
		tb, vb := b.Decide(now, 500)
		if va != vb || !ta.Equal(tb) {
			t.Fatalf("packet %d: %v@%v vs %v@%v", i, va, ta, vb, tb)
		}
	}
}

func TestJitterKeepsOrderUnlessReorderIsAsked(t *testing.T) {
	for _, reorder := range []bool{false, true} {
		m := NewImpairment(Direction{DelayMs: 30, JitterMs: 15, Reorder: reorder}, 1, 1)
		overtaken, spreadMin, spreadMax := 0, math.Inf(1), math.Inf(-1)
		var last time.Time
		for i := 0; i < 5000; i++ {
			now := t0.Add(time.Duration(i) * 2 * time.Millisecond)
			at, _ := m.Decide(now, 200)
			if at.Before(last) {
				overtaken++
			}
			if at.After(last) {
				last = at
			}
			d := at.Sub(now).Seconds() * 1000
			spreadMin, spreadMax = math.Min(spreadMin, d), math.Max(spreadMax, d)
		}
		if !reorder && overtaken != 0 {
			t.Fatalf("without reorder %d packets overtook an earlier one", overtaken)
		}
		if reorder && overtaken < 100 {
			t.Fatalf("with reorder only %d of 5000 overtook (2 ms apart, 15 ms jitter)", overtaken)
		}
		if spreadMax-spreadMin < 40 {
			t.Fatalf("reorder=%v: delays spread %.1f..%.1f ms, want jitter", reorder, spreadMin, spreadMax)
		}
	}
}

func TestRateCapSerialisesAndBoundsTheQueue(t *testing.T) {
	// 1 Mbps, a 25 000 byte queue, 1250-byte packets offered at 2 Mbps for 2 s.
	m := NewImpairment(Direction{RateKbps: 1000, QueueBytes: 25_000}, 1, 1)
	var lastAt time.Time
	delivered, dropped, maxDelay := 0, 0, time.Duration(0)
	for i := 0; i < 400; i++ {
		now := t0.Add(time.Duration(i) * 5 * time.Millisecond)
		at, v := m.Decide(now, 1250)
		if q := m.QueuedBytes(now); q > 25_000 {
			t.Fatalf("queue %d bytes > 25000", q)
		}
		if v == DropQueue {
			dropped++
			continue
		}
		delivered++
		lastAt = at
		maxDelay = max(maxDelay, at.Sub(now))
	}
	// 1250 bytes at 1 Mbps = 10 ms each: about 200 in 2 s plus the queue's 20.
	if seconds := lastAt.Sub(t0).Seconds(); math.Abs(float64(delivered)*1250*8/seconds-1e6) > 2e4 {
		t.Fatalf("throughput %.0f bit/s, want 1e6", float64(delivered)*1250*8/seconds)
	}
	if dropped < 150 {
		t.Fatalf("only %d drops offering twice the rate", dropped)
	}
	// Queueing delay at most a full queue (200 ms) plus one packet.
	if maxDelay > 211*time.Millisecond {
		t.Fatalf("max delay %v, the queue should bound it near 210 ms", maxDelay)
	}
}

func TestOutageScheduleAndDownNow(t *testing.T) {
	o := &Outages{}
	o.Set(t0, []Outage{{AtMs: 1000, ForMs: 2000}})
	for ms, want := range map[int]bool{0: false, 999: false, 1000: true, 2999: true, 3000: false} {
		if got := o.Down(t0.Add(time.Duration(ms) * time.Millisecond)); got != want {
			t.Fatalf("at %d ms down=%v, want %v", ms, got, want)
		}
	}
	o.DownFor(t0.Add(5*time.Second), 500*time.Millisecond)
	if !o.Down(t0.Add(5400*time.Millisecond)) || o.Down(t0.Add(5500*time.Millisecond)) {
		t.Fatal("down now for 500 ms")
	}
}

func TestProfileParsing(t *testing.T) {
	p, err := ParseProfile([]byte(`{"aToB":{"delayMs":40,"rateKbps":1000},"outages":[{"atMs":5,"forMs":2000}],"seed":9}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.AToB.QueueBytes != 25_000 {
		t.Fatalf("default queue %d bytes, want 200 ms of 1 Mbps = 25000", p.AToB.QueueBytes)
	}
	for bad, msg := range map[string]string{
		`{"aToB":{"latencyMs":40}}`:                          "unknown field",
		`{"aToB":{"lossPct":120}}`:                           "lossPct must be within 0..100",
		`{"bToA":{"delayMs":-1}}`:                            "delayMs",
		`{"aToB":{"burst":{"pGoodToBad":0.1}}}`:              "pBadToGood must be > 0",
		`{"aToB":{"rateKbps":100,"queueBytes":10}}`:          "at least one full packet",
		`{"outages":[{"atMs":0,"forMs":0}]}`:                 "forMs > 0",
		`{"aToB":{}} {}`:                                     "trailing",
		`{"aToB":{"burst":{"pGoodToBad":2,"pBadToGood":1}}}`: "pGoodToBad must be within 0..1",
	} {
		if _, err := ParseProfile([]byte(bad)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: error %v, want %q", bad, err, msg)
		}
	}
}

func TestControlCommands(t *testing.T) {
	l := &link{outages: &Outages{}, aToB: &direction{imp: NewImpairment(Direction{}, 1, 1)}, bToA: &direction{imp: NewImpairment(Direction{}, 1, 2)}}
	l.aToB.outages, l.bToA.outages = l.outages, l.outages
	if r := l.command("down 200"); r["ok"] != true || l.stats()["down"] != true {
		t.Fatalf("down: %v", r)
	}
	if r := l.command("up"); r["ok"] != true || l.stats()["down"] != false {
		t.Fatalf("up: %v", r)
	}
	for _, bad := range []string{"down", "down -5", "down abc", "profile {\"x\":1}", "reboot"} {
		if r := l.command(bad); r["ok"] != false {
			t.Fatalf("%q accepted", bad)
		}
	}
	if r := l.command(`profile {"aToB":{"lossPct":100}}`); r["ok"] != true {
		t.Fatalf("profile: %v", r)
	}
	l.aToB.accept([]byte("x"), time.Now())
	if c := l.stats()["aToB"].(Counters); c.DropLoss != 1 || c.InPackets != 1 {
		t.Fatalf("after 100 %% loss profile: %+v", c)
	}
}
